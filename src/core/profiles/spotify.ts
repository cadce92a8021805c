import { LinkError } from '../errors.js';
import { defaultRedirectUri, isLoopbackIp, loopbackRedirectUri, suggestedLoopbackRedirect } from '../redirects.js';
import { account, DAY_MS, profile, unknownRedirect } from './profile.js';

/**
 * Spotify: no device flow, so always the pairing page. Since November 2025 it accepts only https
 * redirect URIs or http on an explicit loopback IP, and it ends every grant 180 days after approval.
 */
export const spotify = profile({
  kind: 'spotify',
  displayName: 'Spotify',
  endpoints: {
    authorizationEndpoint: 'https://accounts.spotify.com/authorize',
    tokenEndpoint: 'https://accounts.spotify.com/api/token',
  },
  apiBase: 'https://api.spotify.com/v1/',
  defaultScope: 'user-read-playback-state user-modify-playback-state user-read-currently-playing',
  consoleUrl: 'https://developer.spotify.com/dashboard',
  manageUrl: 'https://www.spotify.com/account/apps/',
  // An app in development mode may be used by at most 5 people (its "User Management" list).
  peopleLimit: 5,
  hints: ['spotifyWebApi', 'spotifyUsers'],
  expiry: { kind: 'fixed', afterApprovalMs: 180 * DAY_MS },
  // Spotify otherwise approves silently as whoever is signed in on the phone.
  authorizeParams: { show_dialog: 'true' },
  account: {
    url: 'https://api.spotify.com/v1/me',
    read: (me) => account(me.id, me.display_name ?? me.id),
    // Spotify says "User not registered in the Developer Dashboard" or "… the user may not be registered."
    refusal: (status, text) =>
      status === 403 && /not (?:be )?registered/i.test(text)
        ? new LinkError(
            'user_not_registered',
            'This Spotify account is not on the app’s user list. In the Spotify Developer Dashboard open the app, ' +
              'go to "User Management" and add the person’s name and Spotify e-mail, then link again.',
          )
        : null,
  },
  autoFlow: () => 'pairing',
  suggestRedirectUri: ({ publicUrl, port, httpNodeRoot }) => {
    const direct = defaultRedirectUri(publicUrl, httpNodeRoot);
    return direct.startsWith('https:') ? direct : loopbackRedirectUri(port, httpNodeRoot);
  },
  checkRedirectUri: (uri, httpNodeRoot) =>
    uri.protocol === 'https:' || isLoopbackIp(uri.hostname) ? null : insecureRedirect(uri.href, httpNodeRoot),
  // Spotify reports an unknown redirect URI as `INVALID_CLIENT: Invalid redirect URI` (or
  // `invalid_grant` "Invalid redirect URI"), and an http one as `Insecure redirect URI`.
  describeError: (text, displayName, redirectUri, httpNodeRoot) =>
    /insecure redirect uri/i.test(text)
      ? insecureRedirect(redirectUri, httpNodeRoot)
      : unknownRedirect(text, displayName, redirectUri, ' (Spotify Developer Dashboard, app settings)'),
});

function insecureRedirect(redirectUri: string, httpNodeRoot: string): LinkError {
  return new LinkError(
    'insecure_redirect_uri',
    `Spotify refuses the redirect URI ${redirectUri}: it accepts only https addresses, or http on 127.0.0.1. ` +
      `Set the account-link node's Redirect URI to ${suggestedLoopbackRedirect(redirectUri, httpNodeRoot)}, add exactly that in the ` +
      'Spotify Developer Dashboard (app settings, Redirect URIs), and paste the address your phone ends on into the ' +
      'pairing page; or give the hub an https address.',
  );
}
