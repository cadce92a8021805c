import { profile } from './profile.js';

/** Google: device flow for "TV and limited input" clients, which need their client secret. */
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
});
