/**
 * The words on the gateway's pages, and on the development IdP's (the `dev…` keys), in English and
 * Korean, chosen by `Accept-Language` (RFC 9110 §12.5.4: the highest q-value among the languages we
 * have wins; English otherwise). `{name}` marks where a page puts a value of its own.
 */
const en = {
  lang: 'en',
  brand: 'Gateway',
  pageErrorTitle: 'Something went wrong',
  pageDeniedTitle: 'Sign-in refused',
  signedOutTitle: 'You are signed out',
  signedOutBody: 'You have been signed out of every app that uses this gateway.',
  consentTitle: 'Allow access?',
  consentIntro: 'wants to use your account. It asks for:',
  consentAllow: 'Allow',
  consentDeny: 'Deny',
  consentAs: 'Signed in as',
  consentReturnsTo: 'Afterwards you go to',
  scope_openid: 'Who you are (a stable identifier)',
  scope_email: 'Your e-mail address',
  scope_profile: 'Your name, user name and picture',
  scope_groups: 'The groups you belong to',
  scope_offline_access: 'Access while you are away (refresh tokens)',
  scope_upstream_token:
    'Your access token at the sign-in provider (such as Google), to use its services as you, with everything you allowed it there',
  scope_upstream_token_named:
    'Your access token at {name}, to use its services as you, with everything you allowed it there',
  tryAgain: 'Start again',
  signInTitle: 'Sign in to continue',
  chooseUpstreamIntro: 'Choose where your account is:',
  chooseUpstreamWith: 'Continue with {name}',
  signInButton: 'Sign in',
  signOutQuestion: 'Sign out of every app?',
  signOutYes: 'Yes, sign me out',
  signOutNo: 'No, stay signed in',
  temporarilyUnavailable: 'The gateway is briefly unavailable. Please try again in a moment.',
  signOutBody: 'You will be signed out of every app that uses this gateway, in this browser.',
  errorCode: 'Error code',
  errorBackToApp: 'Go back to the app you came from and sign in again.',
  consentPrivacy: 'You can change your mind later: signing out ends its access.',
  error_invalid_request: 'The sign-in request was not valid. It may have expired, or been opened in another browser.',
  error_invalid_client: 'The app that sent you here is not registered at this gateway.',
  error_unauthorized_client: 'The app that sent you here may not sign people in this way.',
  error_invalid_redirect_uri: 'The app that sent you here asked to be answered at an address it has not registered.',
  error_access_denied: 'The sign-in was refused.',
  error_invalid_scope: 'The app asked for access this gateway does not give.',
  error_login_required: 'You need to sign in first.',
  error_server_error: 'The gateway could not complete this request.',
  error_temporarily_unavailable: 'The gateway is briefly unavailable. Please try again in a moment.',
  refusedInvalidEmail: "Your account's e-mail address is not a valid address.",
  refusedEmailUnverified: 'Your e-mail address is not verified at your identity provider.',
  refusedEmailVerificationUnknown:
    'Your identity provider did not say that your e-mail address is verified, so this gateway cannot sign you in with it.',
  refusedHostedDomain: 'Your account does not belong to an allowed organisation (Google Workspace domain).',
  refusedEmailDomain: 'Your e-mail domain is not allowed to sign in here.',
  refusedTenant: 'Your Microsoft account belongs to an organisation (Entra ID tenant) that may not sign in here.',
  refusedOrg: 'Your GitHub account is not a member of an organisation allowed to sign in here.',
  refusedGroup: 'Your GitLab account is not a member of a group allowed to sign in here.',
  refusedEmailMissing:
    'Your identity provider did not share your e-mail address, and this gateway admits only some e-mail domains. Allow sharing your e-mail address and sign in again.',
  refusedAccountDisabled:
    'Your account has been disabled at this gateway. If you think this is a mistake, ask its administrator.',
  upstreamTokenRefused:
    'The identity provider refused the access token it had just issued, and no refresh token could replace it, so it could not say who you are. Please start again; if this keeps happening, tell the administrator of this gateway.',
  deviceTitle: 'Connect a device',
  deviceIntro:
    'Enter the code your device shows (a command-line tool, a TV, a script) to sign it in with your account.',
  deviceCodeLabel: 'Code from your device',
  deviceCodeHint: 'Eight letters, such as BDFH-JKLM. Case and dashes do not matter.',
  deviceContinue: 'Continue',
  deviceWrongCode:
    'That code is not valid: it may be mistyped, already used or expired. Check your device and try again.',
  deviceNoCode: 'Enter the code your device shows.',
  deviceAborted: 'You cancelled. The device was not signed in.',
  deviceError: 'The code could not be checked. Try again.',
  deviceConfirmTitle: 'Is this your device?',
  deviceConfirmIntro:
    'wants to sign in as you on a device. Continue only if this code is the one your device shows, and you started this yourself:',
  deviceConfirmAsks: 'It asks for:',
  deviceConfirmYes: 'Yes, sign it in',
  deviceConfirmNo: 'No, cancel',
  deviceDoneTitle: 'Your device is signed in',
  deviceDoneBody: 'You can close this page and go back to your device.',
  devIdpTag: 'Development IdP',
  devSignInTitle: 'Sign in',
  devContinueTo: 'to continue to {client}',
  devAbout: 'A development identity provider standing in for Google. Any e-mail address works; there is no password.',
  devHostedDomain: 'The application asked for an account of {domain}.',
  devEmail: 'E-mail address',
  devName: 'Display name',
  devOptional: '(optional)',
  devNamePlaceholder: 'Ada Lovelace',
  devCancel: 'Cancel',
} as const;

export type MessageKey = Exclude<keyof typeof en, 'lang'>;
type Messages = { readonly [K in keyof typeof en]: string };

const ko: Messages = {
  lang: 'ko',
  brand: '게이트웨이',
  pageErrorTitle: '문제가 발생했습니다',
  pageDeniedTitle: '로그인이 거부되었습니다',
  signedOutTitle: '로그아웃되었습니다',
  signedOutBody: '이 게이트웨이를 사용하는 모든 앱에서 로그아웃되었습니다.',
  consentTitle: '접근을 허용할까요?',
  consentIntro: '앱이 계정 사용을 요청합니다. 요청 항목:',
  consentAllow: '허용',
  consentDeny: '거부',
  consentAs: '로그인 계정',
  consentReturnsTo: '이후 이동할 곳',
  scope_openid: '사용자 식별자 (변하지 않는 ID)',
  scope_email: '이메일 주소',
  scope_profile: '이름, 사용자 이름, 사진',
  scope_groups: '속한 그룹',
  scope_offline_access: '부재 중 접근 (리프레시 토큰)',
  scope_upstream_token:
    '로그인 제공자(예: Google)의 액세스 토큰: 그곳에서 허용한 모든 권한으로 사용자를 대신해 서비스를 이용합니다',
  scope_upstream_token_named: '{name}의 액세스 토큰: 그곳에서 허용한 모든 권한으로 사용자를 대신해 서비스를 이용합니다',
  tryAgain: '다시 시작',
  signInTitle: '계속하려면 로그인하세요',
  chooseUpstreamIntro: '계정이 있는 곳을 선택하세요:',
  chooseUpstreamWith: '{name}(으)로 계속하기',
  signInButton: '로그인',
  signOutQuestion: '모든 앱에서 로그아웃할까요?',
  signOutYes: '예, 로그아웃합니다',
  signOutNo: '아니요, 로그인 상태를 유지합니다',
  temporarilyUnavailable: '게이트웨이를 잠시 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.',
  signOutBody: '이 브라우저에서 이 게이트웨이를 사용하는 모든 앱에서 로그아웃됩니다.',
  errorCode: '오류 코드',
  errorBackToApp: '처음 사용하던 앱으로 돌아가 다시 로그인해 주세요.',
  consentPrivacy: '나중에 마음이 바뀌면 로그아웃하여 접근을 끝낼 수 있습니다.',
  error_invalid_request: '로그인 요청이 올바르지 않습니다. 만료되었거나 다른 브라우저에서 열렸을 수 있습니다.',
  error_invalid_client: '이 페이지로 보낸 앱이 게이트웨이에 등록되어 있지 않습니다.',
  error_unauthorized_client: '이 페이지로 보낸 앱은 이 방식으로 로그인할 수 없습니다.',
  error_invalid_redirect_uri: '이 페이지로 보낸 앱이 등록하지 않은 주소로 응답을 요청했습니다.',
  error_access_denied: '로그인이 거부되었습니다.',
  error_invalid_scope: '앱이 이 게이트웨이가 허용하지 않는 접근을 요청했습니다.',
  error_login_required: '먼저 로그인해야 합니다.',
  error_server_error: '게이트웨이가 이 요청을 처리하지 못했습니다.',
  error_temporarily_unavailable: '게이트웨이를 잠시 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.',
  refusedInvalidEmail: '계정의 이메일 주소가 올바른 주소가 아닙니다.',
  refusedEmailUnverified: 'ID 제공자에서 이메일 주소가 인증되지 않았습니다.',
  refusedEmailVerificationUnknown:
    'ID 제공자가 이메일 주소의 인증 여부를 알려 주지 않아, 이 게이트웨이에서는 그 주소로 로그인할 수 없습니다.',
  refusedHostedDomain: '계정이 허용된 조직(Google Workspace 도메인)에 속하지 않습니다.',
  refusedEmailDomain: '이 이메일 도메인으로는 여기에서 로그인할 수 없습니다.',
  refusedTenant: 'Microsoft 계정이 여기에 로그인할 수 없는 조직(Entra ID 테넌트)에 속해 있습니다.',
  refusedOrg: 'GitHub 계정이 여기에 로그인할 수 있는 조직의 구성원이 아닙니다.',
  refusedGroup: 'GitLab 계정이 여기에 로그인할 수 있는 그룹의 구성원이 아닙니다.',
  refusedEmailMissing:
    'ID 제공자가 이메일 주소를 제공하지 않았고, 이 게이트웨이는 일부 이메일 도메인만 허용합니다. 이메일 주소 제공에 동의한 뒤 다시 로그인하세요.',
  refusedAccountDisabled:
    '이 게이트웨이에서 계정이 사용 중지되었습니다. 잘못된 일이라고 생각되면 관리자에게 문의하세요.',
  upstreamTokenRefused:
    'ID 제공자가 방금 발급한 액세스 토큰을 거부했고, 리프레시 토큰으로도 새 토큰을 받을 수 없어 사용자를 확인할 수 없었습니다. 다시 시작해 주세요. 계속 이런 일이 생기면 이 게이트웨이의 관리자에게 알려 주세요.',
  deviceTitle: '기기 연결',
  deviceIntro: '기기(명령줄 도구, TV, 스크립트 등)에 표시된 코드를 입력하면 내 계정으로 로그인됩니다.',
  deviceCodeLabel: '기기에 표시된 코드',
  deviceCodeHint: 'BDFH-JKLM 같은 영문자 여덟 자입니다. 대소문자와 하이픈은 상관없습니다.',
  deviceContinue: '계속',
  deviceWrongCode:
    '올바른 코드가 아닙니다. 잘못 입력했거나 이미 사용했거나 만료되었을 수 있습니다. 기기를 확인하고 다시 시도하세요.',
  deviceNoCode: '기기에 표시된 코드를 입력하세요.',
  deviceAborted: '취소했습니다. 기기는 로그인되지 않았습니다.',
  deviceError: '코드를 확인하지 못했습니다. 다시 시도하세요.',
  deviceConfirmTitle: '내 기기가 맞나요?',
  deviceConfirmIntro:
    '앱이 기기에서 내 계정으로 로그인하려고 합니다. 아래 코드가 기기에 표시된 코드와 같고 직접 시작한 경우에만 계속하세요:',
  deviceConfirmAsks: '요청 항목:',
  deviceConfirmYes: '예, 로그인합니다',
  deviceConfirmNo: '아니요, 취소합니다',
  deviceDoneTitle: '기기가 로그인되었습니다',
  deviceDoneBody: '이 페이지를 닫고 기기로 돌아가세요.',
  devIdpTag: '개발용 IdP',
  devSignInTitle: '로그인',
  devContinueTo: '{client}(으)로 계속하려면 로그인하세요',
  devAbout: 'Google을 대신하는 개발용 ID 공급자입니다. 아무 이메일 주소나 사용할 수 있으며 비밀번호는 없습니다.',
  devHostedDomain: '앱이 {domain} 계정을 요청했습니다.',
  devEmail: '이메일 주소',
  devName: '표시 이름',
  devOptional: '(선택)',
  devNamePlaceholder: '홍길동',
  devCancel: '취소',
};

const catalogues: Record<string, Messages> = { en, ko };

/**
 * The best of `supported` (lower-case primary tags, the first one the default) for an
 * `Accept-Language` header: the highest q-value wins, ties go to the earlier entry; `*` and
 * unknown languages fall back to the default.
 */
export function negotiateLanguage(acceptLanguage: string | undefined, supported: readonly string[]): string {
  let best: { lang: string; q: number } = { lang: supported[0] ?? 'en', q: 0 };
  for (const part of (acceptLanguage ?? '').split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const lang = tag.split('-')[0] ?? '';
    if (supported.includes(lang) && Number.isFinite(q) && q > best.q) best = { lang, q };
  }
  return best.lang;
}

/** Picks the catalogue for an `Accept-Language` header. */
export function messagesFor(acceptLanguage: string | undefined): Messages {
  return catalogues[negotiateLanguage(acceptLanguage, Object.keys(catalogues))] ?? en;
}

/** The localized explanation of an OAuth error code (RFC 6749 §4.1.2.1, §5.2), if there is one. */
export function errorExplanation(messages: Messages, code: string): string | undefined {
  const key = `error_${code}`;
  return key in messages ? messages[key as MessageKey] : undefined;
}
