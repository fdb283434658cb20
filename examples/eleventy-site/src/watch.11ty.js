// A JavaScript template: url_for and static_integrity are shortcodes on `this`.
export const data = { layout: 'layout.njk', title: 'Night watch' };

export function render() {
  const src = this.url_for('static', 'img/gallery/night-watch.png');
  return `<section class="panel"><h2>Night watch (a JavaScript template)</h2>
  <img src="${src}" alt="Night watch" width="320"></section>`;
}
