// The touch-up editor: the cutout at full resolution over the card's background, erase and restore
// brushes (brush.js) with size, softness and an edge-aware mode, zoom and pan (wheel, pinch,
// space-drag, middle button), undo/redo, before/after, shortcuts, Done/Cancel. Mouse, pen and touch
// all go through pointer events. The edit works on a copy; Done hands the edited RGBA back.
import { drawComposite } from "./compose.js";
import { applyStroke, copyBox, edgeAwareTarget, growBox, pasteBox, stampSegment, unionBox } from "./brush.js";
import { imageTask } from "./image-client.js";

const $ = (sel) => document.querySelector(sel);
let current = null; // one editor at a time
window.alphacutEditor = () => current; // read by the browser tests

/**
 * Open the editor on {name, cut: {rgba, width, height}, photo: {bitmap, rgba}, bg, onDone(rgba)}; cut is
 * the editor's own copy (it is edited in place and handed to onDone), photo the original in the
 * cutout's frame at its size (both made by the image worker).
 */
export function openEditor({ name, cut, photo: original, bg, onDone }) {
  if (current) current.close(false);
  const w = cut.width, h = cut.height;
  const rgba = cut.rgba;
  const photo = original.rgba;
  const work = document.createElement("canvas");
  work.width = w;
  work.height = h;
  const wctx = work.getContext("2d");
  wctx.putImageData(new ImageData(rgba, w, h), 0, 0);
  const backdrop = document.createElement("canvas"); // the card's background, drawn once
  drawComposite(backdrop, new OffscreenCanvas(w, h), original.bitmap, bg);

  const root = $("#editor"), view = $("#ed-view"), canvas = $("#ed-canvas");
  const ctx = canvas.getContext("2d");
  $("#ed-title").textContent = name;
  const opener = document.activeElement; // focus goes back there when the editor closes
  root.hidden = false;
  document.body.classList.add("editing");
  const behind = [...document.body.children].filter((el) => el !== root && !el.inert && el.tagName !== "SCRIPT");
  for (const el of behind) el.inert = true;

  const ed = { w, h, rgba, tool: "erase", size: Number($("#ed-size").value), soft: Number($("#ed-soft").value) / 100,
    edge: $("#ed-edge").checked, zoom: 1, panX: 0, panY: 0, before: false, undo: [], redo: [], cursor: null,
    stroke: null, pointers: new Map(), space: false, pan: null, pinch: null, pending: null, edgeInWorker: true };
  const mask = new Uint8Array(w * h);
  current = ed;

  function fit() {
    const r = view.getBoundingClientRect();
    ed.zoom = Math.min(r.width / w, r.height / h) * 0.95;
    ed.panX = (r.width - w * ed.zoom) / 2;
    ed.panY = (r.height - h * ed.zoom) / 2;
    render();
  }

  function render() {
    const r = view.getBoundingClientRect(), dpr = devicePixelRatio || 1;
    if (canvas.width !== Math.round(r.width * dpr) || canvas.height !== Math.round(r.height * dpr)) {
      canvas.width = Math.round(r.width * dpr);
      canvas.height = Math.round(r.height * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, r.width, r.height);
    ctx.imageSmoothingEnabled = ed.zoom < 2;
    ctx.save();
    ctx.translate(ed.panX, ed.panY);
    ctx.scale(ed.zoom, ed.zoom);
    if (ed.before) ctx.drawImage(original.bitmap, 0, 0);
    else {
      ctx.drawImage(backdrop, 0, 0);
      ctx.drawImage(work, 0, 0);
    }
    ctx.restore();
    if (ed.cursor && !ed.before) {
      ctx.beginPath();
      ctx.arc(ed.cursor[0], ed.cursor[1], ed.size * ed.zoom, 0, Math.PI * 2);
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.strokeStyle = ed.tool === "erase" ? "#d33" : "#2a8";
      ctx.lineWidth = 1;
      ctx.stroke();
    }
    $("#ed-undo").disabled = !ed.undo.length;
    $("#ed-redo").disabled = !ed.redo.length;
    $("#ed-zoom").textContent = `${Math.round(ed.zoom * 100)}%`;
    for (const b of document.querySelectorAll("#editor [data-tool]")) b.setAttribute("aria-pressed", String(b.dataset.tool === ed.tool));
    $("#ed-before").setAttribute("aria-pressed", String(ed.before));
  }

  const toImage = (sx, sy) => [(sx - ed.panX) / ed.zoom, (sy - ed.panY) / ed.zoom];
  const local = (e) => { const r = view.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  function refresh(box) {
    const [x0, y0, x1, y1] = box;
    wctx.putImageData(new ImageData(rgba, w, h), 0, 0, x0, y0, x1 - x0, y1 - y0);
    render();
  }

  // ---------------------------------------------------------------- strokes
  function beginStroke(sx, sy) {
    settle();
    ed.stroke = { base: new Uint8ClampedArray(rgba), last: toImage(sx, sy), box: null, erase: ed.tool === "erase" };
    extendStroke(sx, sy);
  }
  function extendStroke(sx, sy) {
    const s = ed.stroke, p = toImage(sx, sy);
    const box = stampSegment(mask, w, h, s.last[0], s.last[1], p[0], p[1], ed.size, ed.soft);
    s.last = p;
    if (!box) return;
    s.box = unionBox(s.box, box);
    applyStroke(rgba, s.base, photo, mask, w, box, s.erase); // the flat brush while drawing
    refresh(box);
  }
  function endStroke(keep = true) {
    const s = ed.stroke;
    ed.stroke = null;
    if (!s || !s.box) return;
    if (!keep) {
      pasteBox(rgba, w, s.box, copyBox(s.base, w, s.box));
      finishStroke(s);
      return;
    }
    if (!ed.edge) {
      applyStroke(rgba, s.base, photo, mask, w, s.box, s.erase);
      finishStroke(s, s.box);
      return;
    }
    // The edge-aware target is computed in the image worker (it reads nothing outside the stroke's box,
    // so the box's crops give the same result), off this thread: a long stroke on a 12 MP photo took
    // 200+ ms here. The flat stroke stays on screen meanwhile; anything that needs the result first
    // (a new stroke, undo, redo, Done) settles it here instead (settle()).
    const box = growBox(s.box, 0, w, h), bw = box[2] - box[0], bh = box[3] - box[1];
    const job = { s, box, target: s.erase ? 0 : 1, radius: ed.size };
    ed.pending = job;
    if (!ed.edgeInWorker) { // the tests compare both paths
      settle();
      return;
    }
    const maskBox = new Uint8Array(bw * bh);
    for (let y = 0; y < bh; y++) maskBox.set(mask.subarray((y + box[1]) * w + box[0], (y + box[1]) * w + box[2]), y * bw);
    const crops = { base: copyBox(s.base, w, box), photo: copyBox(photo, w, box), mask: maskBox };
    imageTask("edge", { ...crops, bw, bh, target: job.target, radius: job.radius },
      [crops.base.buffer, crops.photo.buffer, crops.mask.buffer])
      .then((targets) => { if (ed.pending === job) applyEdge(job, targets); }, () => settle());
  }
  function applyEdge(job, targets) {
    ed.pending = null;
    applyStroke(rgba, job.s.base, photo, mask, w, job.box, job.s.erase, targets);
    finishStroke(job.s, job.box);
  }
  /** An edge-aware stroke still in the worker: finish it now, on this thread (its later result is dropped). */
  function settle() {
    const job = ed.pending;
    if (job) applyEdge(job, edgeAwareTarget(job.s.base, photo, mask, w, job.box, job.target, job.radius));
  }
  /** A stroke applied in `box` (null: cancelled) becomes one undo step; its mask is cleared. */
  function finishStroke(s, box = null) {
    if (box) {
      ed.undo.push({ box, before: copyBox(s.base, w, box), after: copyBox(rgba, w, box) });
      ed.changed = true;
      ed.redo.length = 0;
    }
    const [x0, y0, x1, y1] = s.box;
    for (let y = y0; y < y1; y++) mask.fill(0, y * w + x0, y * w + x1);
    refresh(s.box);
  }
  function undo() {
    settle();
    const step = ed.undo.pop();
    if (!step) return;
    pasteBox(rgba, w, step.box, step.before);
    ed.redo.push(step);
    refresh(step.box);
  }
  function redo() {
    settle();
    const step = ed.redo.pop();
    if (!step) return;
    pasteBox(rgba, w, step.box, step.after);
    ed.undo.push(step);
    refresh(step.box);
  }

  // ---------------------------------------------------------------- zoom and pan
  function zoomAt(sx, sy, factor) {
    const z = Math.min(32, Math.max(0.02, ed.zoom * factor));
    const [ix, iy] = toImage(sx, sy);
    ed.zoom = z;
    ed.panX = sx - ix * z;
    ed.panY = sy - iy * z;
    render();
  }
  const onWheel = (e) => {
    e.preventDefault();
    const [sx, sy] = local(e);
    zoomAt(sx, sy, Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.0015)));
  };
  const pinchState = () => {
    const [a, b] = [...ed.pointers.values()];
    return { d: Math.hypot(a[0] - b[0], a[1] - b[1]), mx: (a[0] + b[0]) / 2, my: (a[1] + b[1]) / 2 };
  };
  const onDown = (e) => {
    view.setPointerCapture(e.pointerId);
    const p = local(e);
    ed.pointers.set(e.pointerId, p);
    if (ed.pointers.size === 2) { // second finger: pinch and pan, and the first finger's stroke is undone
      endStroke(false);
      ed.pinch = pinchState();
      return;
    }
    if (ed.pointers.size > 2) return;
    if (ed.space || e.button === 1 || e.button === 2) {
      ed.pan = { x: p[0], y: p[1], panX: ed.panX, panY: ed.panY };
      return;
    }
    if (e.button === 0 && !ed.before) beginStroke(p[0], p[1]);
  };
  const onMove = (e) => {
    const p = local(e);
    ed.cursor = e.pointerType === "touch" ? null : p;
    if (ed.pointers.has(e.pointerId)) ed.pointers.set(e.pointerId, p);
    if (ed.pinch && ed.pointers.size === 2) {
      const now = pinchState();
      ed.panX += now.mx - ed.pinch.mx;
      ed.panY += now.my - ed.pinch.my;
      zoomAt(now.mx, now.my, now.d / Math.max(1, ed.pinch.d));
      ed.pinch = now;
      return;
    }
    if (ed.pan) {
      ed.panX = ed.pan.panX + p[0] - ed.pan.x;
      ed.panY = ed.pan.panY + p[1] - ed.pan.y;
      render();
      return;
    }
    if (ed.stroke) {
      for (const ce of e.getCoalescedEvents?.() || [e]) { const q = local(ce); extendStroke(q[0], q[1]); }
      return;
    }
    render();
  };
  const onUp = (e) => {
    ed.pointers.delete(e.pointerId);
    if (ed.pointers.size < 2) ed.pinch = null;
    if (ed.pan && !ed.pointers.size) ed.pan = null;
    if (ed.stroke && !ed.pointers.size) endStroke(e.type !== "pointercancel");
  };
  const onLeave = () => { ed.cursor = null; render(); };

  // ---------------------------------------------------------------- keys and buttons
  // Keys: a focused button or checkbox keeps its own Enter and Space (Enter on Cancel cancels); elsewhere
  // Enter is Done and Space held pans. Tab and Shift+Tab go round the dialog's controls only (aria-modal;
  // the page behind is inert meanwhile).
  const focusables = () => [...root.querySelectorAll("button, input, select, [tabindex]:not([tabindex='-1'])")]
    .filter((el) => !el.disabled && el.offsetParent !== null);
  const trapTab = (e) => {
    const list = focusables();
    if (!list.length) return;
    const at = list.indexOf(document.activeElement);
    const next = e.shiftKey ? (at <= 0 ? list.length - 1 : at - 1) : (at < 0 || at === list.length - 1 ? 0 : at + 1);
    e.preventDefault();
    list[next].focus();
  };
  const onKey = (e) => {
    if (e.target.matches?.("input[type=number], input[type=text]")) return;
    const k = e.key.toLowerCase();
    const control = e.target !== view && e.target.matches?.("button, input[type=checkbox], input[type=radio], select");
    if (e.type === "keyup") {
      if (k === " ") { ed.space = false; view.classList.remove("panning"); if (!control) e.preventDefault(); }
      return;
    }
    if (k === "tab") return trapTab(e);
    if (control && (k === "enter" || k === " ")) return undefined; // the focused control's own action
    if ((e.ctrlKey || e.metaKey) && k === "z") { e.preventDefault(); return e.shiftKey ? redo() : undo(); }
    if ((e.ctrlKey || e.metaKey) && k === "y") { e.preventDefault(); return redo(); }
    if (k === " ") { e.preventDefault(); ed.space = true; view.classList.add("panning"); return undefined; }
    if (k === "e") setTool("erase");
    else if (k === "b" || k === "r") setTool("restore");
    else if (k === "[") setSize(ed.size / 1.2);
    else if (k === "]") setSize(ed.size * 1.2);
    else if (k === "escape") close(false);
    else if (k === "enter") close(true);
    else if (k === "0") fit();
    else return undefined;
    e.preventDefault();
    return undefined;
  };
  function setTool(t) { ed.tool = t; render(); }
  function setSize(px) {
    ed.size = Math.round(Math.min(400, Math.max(1, px)));
    $("#ed-size").value = String(ed.size);
    $("#ed-size-out").textContent = `${ed.size} px`;
    render();
  }
  const controls = [
    [$("#ed-size"), "input", () => setSize(Number($("#ed-size").value))],
    [$("#ed-soft"), "input", () => { ed.soft = Number($("#ed-soft").value) / 100; }],
    [$("#ed-edge"), "change", () => { ed.edge = $("#ed-edge").checked; }],
    [$("#ed-undo"), "click", undo], [$("#ed-redo"), "click", redo], [$("#ed-fit"), "click", fit],
    [$("#ed-before"), "click", () => { ed.before = !ed.before; render(); }],
    [$("#ed-done"), "click", () => close(true)], [$("#ed-cancel"), "click", () => close(false)],
    [$("#ed-erase"), "click", () => setTool("erase")], [$("#ed-restore"), "click", () => setTool("restore")],
    [view, "wheel", onWheel, { passive: false }], [view, "pointerdown", onDown], [view, "pointermove", onMove],
    [view, "pointerup", onUp], [view, "pointercancel", onUp], [view, "pointerleave", onLeave],
    [view, "contextmenu", (e) => e.preventDefault()], [window, "keydown", onKey], [window, "keyup", onKey],
    [window, "resize", () => render()],
  ];
  for (const [el, ev, fn, opt] of controls) el.addEventListener(ev, fn, opt);

  function close(keep) {
    if (ed.stroke) endStroke(true);
    settle();
    for (const [el, ev, fn, opt] of controls) el.removeEventListener(ev, fn, opt);
    root.hidden = true;
    document.body.classList.remove("editing");
    for (const el of behind) el.inert = false;
    opener?.focus?.({ preventScroll: true });
    current = null;
    if (keep && ed.changed) onDone(rgba);
  }
  ed.close = close;
  ed.undoStep = undo;
  ed.redoStep = redo;
  ed.toScreen = (ix, iy) => { // for tests: page coordinates of an image pixel
    const r = view.getBoundingClientRect();
    return [r.left + ed.panX + ix * ed.zoom, r.top + ed.panY + iy * ed.zoom];
  };
  setSize(ed.size);
  view.focus({ preventScroll: true }); // keys go to the editor, not to the card's button behind it
  requestAnimationFrame(fit);
  fit();
  return ed;
}
