// The page's main-thread tasks from a Chromium trace (driver.mjs, job.trace): every task on the renderer's
// main thread (CrRendererMain) longer than `minMs`, with its wall time, its thread (CPU) time and what
// it spent that time on (self time by trace event name, the biggest first). Thread time is what the
// page itself did; wall time adds the waits for a core on a loaded machine.

export const TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline",
  "v8.execute", "blink", "cc", "disabled-by-default-devtools.timeline.frame", "blink.user_timing"];

const TASKS = new Set(["RunTask", "ThreadControllerImpl::RunTask", "ThreadPool_RunTask"]);

function label(e) {
  const d = e.args?.data || {};
  if (e.name === "FunctionCall" || e.name === "EvaluateScript" || e.name === "v8.callFunction") {
    const fn = d.functionName || "", url = (d.url || "").split("/").pop();
    return `${e.name}(${fn || "?"}${url ? " @" + url : ""}${d.lineNumber !== undefined ? ":" + d.lineNumber : ""})`;
  }
  if (e.name === "TimerFire") return `TimerFire(${d.timerId ?? ""})`;
  if (e.name === "EventDispatch") return `EventDispatch(${d.type || ""})`;
  return e.name;
}

/** Summarise a trace (the parsed JSON of Tracing) for the page's main thread(s). */
export function mainThreadTasks(trace, { minMs = 50 } = {}) {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const mains = new Set();
  for (const e of events) {
    if (e.ph === "M" && e.name === "thread_name" && e.args?.name === "CrRendererMain") mains.add(`${e.pid}:${e.tid}`);
  }
  const byThread = new Map();
  for (const e of events) {
    if (e.ph !== "X" || !mains.has(`${e.pid}:${e.tid}`)) continue;
    const k = `${e.pid}:${e.tid}`;
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k).push(e);
  }
  // the page's renderer: the main thread with the most script
  let best = null, bestScript = -1;
  for (const [k, list] of byThread) {
    const script = list.filter((e) => e.name === "FunctionCall" || e.name === "EvaluateScript").length;
    if (script > bestScript) { best = k; bestScript = script; }
  }
  if (!best) return { tasks: [], count: 0, maxWallMs: 0, maxCpuMs: 0 };
  const list = byThread.get(best).sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  let t0 = Infinity;
  for (const e of events) if (e.ts > 0 && e.ts < t0) t0 = e.ts;
  const tasks = [];
  let all = 0;
  for (let i = 0; i < list.length; i++) {
    const task = list[i];
    if (!TASKS.has(task.name)) continue;
    const end = task.ts + task.dur;
    // skip tasks nested in another task (a nested run loop) by only counting outermost ones
    if (tasks.length && tasks.at(-1).end > task.ts) continue;
    all++;
    if (task.dur < minMs * 1000) { tasks.push({ end, short: true }); continue; }
    // self time of each event inside the task (a stack over the sorted events)
    const self = new Map();
    const stack = [];
    for (let j = i + 1; j < list.length && list[j].ts < end; j++) {
      const e = list[j];
      if (TASKS.has(e.name)) continue;
      while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
      const parent = stack.at(-1);
      if (parent) self.set(parent.key, (self.get(parent.key) || 0) - Math.min(e.dur, parent.ts + parent.dur - e.ts));
      const key = label(e);
      self.set(key, (self.get(key) || 0) + e.dur);
      stack.push({ ts: e.ts, dur: e.dur, key });
    }
    const what = [...self.entries()].filter(([, us]) => us >= 2000).sort((a, b) => b[1] - a[1]).slice(0, 6)
      .map(([k, us]) => [k, Math.round(us / 1000)]);
    tasks.push({ end, atMs: Math.round((task.ts - t0) / 1000), wallMs: Math.round(task.dur / 1000),
      cpuMs: task.tdur !== undefined ? Math.round(task.tdur / 1000) : null, what });
  }
  const long = tasks.filter((t) => !t.short).map(({ end, ...t }) => t);
  return { tasks: long, count: all, maxWallMs: Math.max(0, ...long.map((t) => t.wallMs)),
    maxCpuMs: Math.max(0, ...long.map((t) => t.cpuMs ?? 0)), thread: best };
}
