import { messagesFor } from './i18n.ts';
import { escapeHtml, layout } from './layout.ts';

/**
 * The sign-in page when several upstreams are configured: one link per upstream, in the
 * operator's order, each leading to that upstream's sign-in for this interaction. Plain links
 * (no script, no remote image: nothing here tells a third party who is signing in), each a
 * full-width button with the provider's name in its text, for screen readers as for eyes.
 */
export function renderUpstreamChooser(
  acceptLanguage: string | undefined,
  options: { uid: string; upstreams: readonly { id: string; name: string }[] },
): string {
  const t = messagesFor(acceptLanguage);
  const uid = encodeURIComponent(options.uid);
  const links = options.upstreams
    .map(
      (upstream) =>
        `<a class="button" href="/interaction/${uid}/upstream/${encodeURIComponent(upstream.id)}">${escapeHtml(
          t.chooseUpstreamWith.replace('{name}', upstream.name),
        )}</a>`,
    )
    .join('\n');
  return layout({
    lang: t.lang,
    brand: t.brand,
    title: t.signInTitle,
    body: `<h1>${escapeHtml(t.signInTitle)}</h1>
<p id="choose-upstream">${escapeHtml(t.chooseUpstreamIntro)}</p>
<nav class="actions stacked" aria-labelledby="choose-upstream">
${links}
</nav>`,
  });
}
