import { account, profile } from './profile.js';

/**
 * GitHub: device flow (enabled per app), profile from the REST API, no revocation endpoint for apps.
 * GitHub Apps with expiring tokens state the refresh token's lifetime (6 months, rotating).
 */
export const github = profile({
  kind: 'github',
  displayName: 'GitHub',
  endpoints: {
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    deviceAuthorizationEndpoint: 'https://github.com/login/device/code',
  },
  apiBase: 'https://api.github.com/',
  defaultScope: 'read:user',
  consoleUrl: 'https://github.com/settings/developers',
  manageUrl: 'https://github.com/settings/applications',
  hints: ['githubDevice'],
  deviceFlowSetting: 'In the GitHub app\'s settings, tick "Enable Device Flow"',
  expiry: { kind: 'stated' },
  account: {
    url: 'https://api.github.com/user',
    read: (user) => account(user.id, user.name ?? user.login),
  },
});
