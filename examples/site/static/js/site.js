// Harbour Lights: the demo's script. Loaded from the bucket; it marks the page, reports where its assets
// came from (the browser's own resource timing), and opens gallery images in a lightbox.
(() => {
  const here = document.currentScript ? new URL(document.currentScript.src) : null;
  document.body.dataset.js = 'ran';

  const status = document.getElementById('js-status');
  if (status) {
    status.textContent = here ? `JavaScript ran: site.js came from ${here.origin}` : 'JavaScript ran';
  }

  // Lists every asset the page loaded, tagged with its origin: the bucket, or (a bug) this server.
  const list = document.getElementById('asset-list');
  const fillAssets = () => {
    if (!list) return;
    const entries = performance.getEntriesByType('resource');
    list.replaceChildren(
      ...entries.map((entry) => {
        const url = new URL(entry.name);
        const li = document.createElement('li');
        const name = document.createElement('code');
        name.textContent = url.pathname.split('/').slice(-2).join('/');
        const tag = document.createElement('span');
        const local = url.origin === location.origin;
        tag.className = local ? 'origin-tag origin-tag--local' : 'origin-tag';
        tag.textContent = local ? 'this server' : url.host;
        li.append(name, tag);
        return li;
      }),
    );
    list.dataset.count = String(entries.length);
  };
  if (document.readyState === 'complete') fillAssets();
  else window.addEventListener('load', fillAssets);

  const box = document.getElementById('lightbox');
  if (box) {
    const big = box.querySelector('img');
    for (const link of document.querySelectorAll('a[data-lightbox]')) {
      link.addEventListener('click', (event) => {
        event.preventDefault();
        big.src = link.href;
        big.alt = link.querySelector('img')?.alt ?? '';
        box.hidden = false;
      });
    }
    box.addEventListener('click', () => {
      box.hidden = true;
    });
  }
})();
