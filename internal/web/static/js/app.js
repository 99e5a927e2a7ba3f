// trawl web UI entry point: the header navigation and the router. Pages read
// their whole state from the URL, so every view can be bookmarked and shared
// and the browser's back and forward buttons work.
import { html, render, useLocation, Link } from './lib.js';

// Content-Security-Policy violations are kept for the browser tests (and
// logged): the UI must run under script-src 'self'; style-src 'self'.
window.__trawlCSP = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__trawlCSP.push(`${e.violatedDirective} ${e.blockedURI}`);
  console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
});
import { SearchPage } from './search.js';
import { DashboardsPage } from './dashboards.js';
import { AlertsPage, RulesPage } from './alerts.js';
import { SQLPage } from './sql.js';

const NAV = [
  ['/search', 'Search'],
  ['/dashboards', 'Dashboards'],
  ['/alerts', 'Alerts'],
  ['/rules', 'Rules'],
  ['/sql', 'SQL'],
];

function route(path) {
  if (path === '/' || path === '' || path === '/search') return html`<${SearchPage} />`;
  const d = /^\/dashboards(?:\/([^/]+))?\/?$/.exec(path);
  if (d) return html`<${DashboardsPage} id=${d[1] ? decodeURIComponent(d[1]) : ''} />`;
  if (path === '/alerts') return html`<${AlertsPage} />`;
  if (path === '/rules') return html`<${RulesPage} />`;
  if (path === '/sql') return html`<${SQLPage} />`;
  return html`<div class="page"><p class="error">No page at ${path}.</p><${Link} href="/search">Go to search<//></div>`;
}

function App() {
  const loc = useLocation();
  const path = loc.split('?')[0];
  const section = path === '/' ? '/search' : '/' + (path.split('/')[1] || '');
  return html`<div class="app">
    <header class="top">
      <${Link} class="brand" href="/search">trawl<//>
      <nav>${NAV.map(([href, label]) => html`<${Link} href=${href} class=${section === href ? 'active' : ''}>${label}<//>`)}</nav>
    </header>
    <div class="content" key=${path}>${route(path)}</div>
  </div>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
window.__trawlReady = true;
