import { DAY_MS, profile } from './profile.js';

/**
 * Google: device flow for "TV and limited input" clients, which need their client secret. An app
 * whose publishing status is "Testing" gets refresh tokens that die after 7 days, and says so
 * (`refresh_token_expires_in`).
 */
export const google = profile({
  kind: 'google',
  displayName: 'Google',
  endpoints: {
    authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenEndpoint: 'https://oauth2.googleapis.com/token',
    deviceAuthorizationEndpoint: 'https://oauth2.googleapis.com/device/code',
    revocationEndpoint: 'https://oauth2.googleapis.com/revoke',
    userinfoEndpoint: 'https://openidconnect.googleapis.com/v1/userinfo',
  },
  apiBase: 'https://www.googleapis.com/',
  defaultScope: 'openid profile',
  secretRequired: true,
  consoleUrl: 'https://console.cloud.google.com/apis/credentials',
  manageUrl: 'https://myaccount.google.com/permissions',
  hints: ['googleSecret'],
  // The account chooser; `consent` and `offline` because Google sends a refresh token only when the
  // person consents, and a relink through the pairing page must get one too.
  authorizeParams: { prompt: 'select_account consent', access_type: 'offline' },
  deviceFlowSetting: 'In the Google Cloud console the OAuth client must be of type "TVs and Limited Input devices"',
  expiry: {
    kind: 'stated',
    shortLifetime: {
      atMostMs: 7 * DAY_MS,
      hint: 'googleTesting',
      english:
        'The Google app is in Testing, so Google ends every link after 7 days. To keep links, publish it: Google Cloud ' +
        'console, Google Auth Platform, Audience, "Publish app"; then link again.',
    },
  },
});
