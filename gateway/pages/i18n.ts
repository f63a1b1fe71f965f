/**
 * The words on the gateway's pages, in English and Korean, chosen by `Accept-Language`
 * (RFC 9110 §12.5.4: the highest q-value among the languages we have wins; English otherwise).
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
  scope_openid: 'Who you are (a stable identifier)',
  scope_email: 'Your e-mail address',
  scope_profile: 'Your name, user name and picture',
  scope_offline_access: 'Access while you are away (refresh tokens)',
  tryAgain: 'Start again',
  signInTitle: 'Sign in to continue',
  signInButton: 'Sign in',
  signOutQuestion: 'Sign out of every app?',
  signOutYes: 'Yes, sign me out',
  signOutNo: 'No, stay signed in',
  temporarilyUnavailable: 'The gateway is briefly unavailable. Please try again in a moment.',
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
  scope_openid: '사용자 식별자 (변하지 않는 ID)',
  scope_email: '이메일 주소',
  scope_profile: '이름, 사용자 이름, 사진',
  scope_offline_access: '부재 중 접근 (리프레시 토큰)',
  tryAgain: '다시 시작',
  signInTitle: '계속하려면 로그인하세요',
  signInButton: '로그인',
  signOutQuestion: '모든 앱에서 로그아웃할까요?',
  signOutYes: '예, 로그아웃합니다',
  signOutNo: '아니요, 로그인 상태를 유지합니다',
  temporarilyUnavailable: '게이트웨이를 잠시 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.',
};

const catalogues: Record<string, Messages> = { en, ko };

/** Picks the catalogue for an `Accept-Language` header. */
export function messagesFor(acceptLanguage: string | undefined): Messages {
  let best: { messages: Messages; q: number } = { messages: en, q: 0 };
  for (const part of (acceptLanguage ?? '').split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const messages = catalogues[tag.split('-')[0] ?? ''];
    if (messages && Number.isFinite(q) && q > best.q) best = { messages, q };
  }
  return best.messages;
}
