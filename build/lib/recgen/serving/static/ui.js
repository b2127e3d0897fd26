// Live updates for a running run: server-sent events move the progress bar and refresh the page's
// sections as nodes finish; no framework, no build step.
(function () {
  const root = document.getElementById("run");
  const starting = document.getElementById("starting");
  if (starting) { setTimeout(() => location.reload(), 1000); return; }
  if (!root || root.dataset.live !== "yes" || !window.EventSource) return;
  const id = root.dataset.run;
  let pending = null;

  async function refresh() {
    const res = await fetch(location.pathname, { headers: { Accept: "text/html" } });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const fresh = doc.getElementById("run");
    const playing = [...document.querySelectorAll("video")].some((v) => !v.paused);
    if (fresh && !playing) {
      root.innerHTML = fresh.innerHTML;
      root.dataset.status = fresh.dataset.status;
    }
  }
  function later() { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 300); }

  const es = new EventSource(`/runs/${encodeURIComponent(id)}/events`);
  es.addEventListener("node", (e) => {
    const d = JSON.parse(e.data);
    const bar = document.getElementById("progress");
    const txt = document.getElementById("progress-text");
    if (bar) bar.style.width = `${Math.round(d.progress * 100)}%`;
    if (txt) txt.textContent = `${Math.round(d.progress * 100)}% · ${d.node}`;
    later();
  });
  es.addEventListener("end", () => { es.close(); refresh(); });
  es.addEventListener("error", () => { if (es.readyState === EventSource.CLOSED) refresh(); });
})();
