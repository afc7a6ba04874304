// vigil dashboard: the only script. Pages work without it; it follows a running install's
// log live (the page refreshes itself when scripts are off).
"use strict";
document.querySelectorAll('pre.log[data-running="true"]').forEach((pre) => {
  const name = pre.dataset.name;
  let after = Number(pre.dataset.after || 0);
  const status = document.getElementById("status-" + name);
  const tick = async () => {
    let reply;
    try {
      const r = await fetch(`/ui/integrations/${encodeURIComponent(name)}/log.json?after=${after}`,
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error(String(r.status));
      reply = await r.json();
    } catch (e) {
      setTimeout(tick, 3000);
      return;
    }
    for (const l of reply.lines) {
      pre.append(document.createTextNode(`${l.at}  ${l.line}\n`));
      after = l.id;
    }
    pre.scrollTop = pre.scrollHeight;
    if (status) status.textContent = reply.status;
    if (reply.running) {
      setTimeout(tick, 700);
    } else {
      // The buttons depend on the outcome: show the page as it is now.
      location.reload();
    }
  };
  setTimeout(tick, 700);
});
