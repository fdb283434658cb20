// The admin blueprint's script, from the bucket: draws the bytes-by-folder chart from the data the
// server rendered into data-series.
(() => {
  const chart = document.getElementById('admin-chart');
  if (!chart) return;
  const series = JSON.parse(chart.dataset.series || '{}');
  const max = Math.max(1, ...Object.values(series));
  chart.replaceChildren(
    ...Object.entries(series).map(([folder, bytes]) => {
      const row = document.createElement('div');
      row.className = 'chart__row';
      const label = document.createElement('code');
      label.textContent = folder;
      const bar = document.createElement('div');
      bar.className = 'chart__bar';
      bar.style.width = `${Math.max(2, (bytes / max) * 100)}%`;
      const value = document.createElement('span');
      value.textContent = `${(bytes / 1024).toFixed(1)} KiB`;
      row.append(label, bar, value);
      return row;
    }),
  );
  chart.dataset.drawn = 'yes';
})();
