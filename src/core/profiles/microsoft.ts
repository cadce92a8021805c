import { DAY_MS, profile } from './profile.js';

/**
 * Microsoft identity platform (the `common` tenant): device flow, OIDC userinfo on Graph. Refresh
 * tokens die after 90 days unused (AADSTS700082).
 */
export const microsoft = profile({
  kind: 'microsoft',
  displayName: 'Microsoft',
  endpoints: {
    authorizationEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    deviceAuthorizationEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/devicecode',
    userinfoEndpoint: 'https://graph.microsoft.com/oidc/userinfo',
  },
  apiBase: 'https://graph.microsoft.com/v1.0/',
  defaultScope: 'openid profile offline_access User.Read',
  consoleUrl: 'https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade',
  manageUrl: 'https://account.live.com/consent/Manage',
  hints: ['microsoftTenant'],
  authorizeParams: { prompt: 'select_account' },
  deviceFlowSetting:
    'In the app registration (Microsoft Entra), under Authentication, set "Allow public client flows" to Yes; a Conditional Access policy that blocks device code flow needs the pairing page instead',
  expiry: { kind: 'inactivity', idleMs: 90 * DAY_MS },
});
