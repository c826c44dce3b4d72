// driftcar's built-in page. It polls the admin JSON API and draws what it
// returns with hand-made SVG. Every value from the API reaches the DOM as
// text (textContent, attribute values, <title> text), never as HTML.
'use strict';
(function () {
  const POLL_MS = 2000;
  const SLOW_EVERY = 5; // /api/config and /metrics every 5th poll
  const MAX_POINTS = 150; // 5 minutes of 2 s polls per chart
  const MIN_SPAN_MS = 20000; // the time axis of a chart spans at least this
  const MAX_MISMATCHES = 8;
  const MAX_HISTORY = 12;
  const BODY_CELL = 110;
  const BODY_FULL = 4096;
  const SVGNS = 'http://www.w3.org/2000/svg';

  // ---- DOM helpers: text only, never markup ------------------------------

  function setAttrs(e, attrs) {
    if (!attrs) return;
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      // Presentation attributes cannot hold var(); the style property can.
      else if ((k === 'fill' || k === 'stroke') && typeof v === 'string' && v.startsWith('var(')) e.style.setProperty(k, v);
      else if (k === 'style') for (const p of Object.keys(v)) e.style.setProperty(p, v[p]);
      else e.setAttribute(k, String(v));
    }
  }
  function addKids(e, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k == null || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    addKids(e, kids);
    return e;
  }
  function sv(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    addKids(e, kids);
    return e;
  }
  function title(text) { return sv('title', { text }); }
  function $(id) { return document.getElementById(id); }

  // ---- formatting --------------------------------------------------------

  function fmtNum(x) {
    if (x == null || !isFinite(x)) return '–';
    const a = Math.abs(x);
    if (a === 0) return '0';
    if (a >= 10000) return Math.round(x).toLocaleString('en-US');
    if (a >= 100) return x.toFixed(0);
    if (a >= 10) return x.toFixed(1);
    if (a >= 1) return x.toFixed(2);
    if (a >= 0.001) return x.toPrecision(2).replace(/0+$/, '').replace(/\.$/, '');
    return x.toExponential(1);
  }
  // fmtTick formats an axis value with at most 3 significant digits and no
  // trailing zeros.
  function fmtTick(x) {
    if (x === 0) return '0';
    const a = Math.abs(x);
    if (a >= 1e6) return fmtTick(x / 1e6) + 'M';
    if (a >= 1e4) return fmtTick(x / 1e3) + 'k';
    if (a >= 100) return String(Math.round(x));
    if (a < 1e-3) return x.toExponential(0);
    return String(parseFloat(x.toPrecision(3)));
  }
  function fmtCompact(x) {
    const a = Math.abs(x);
    if (a >= 1e6) return fmtNum(x / 1e6) + 'M';
    if (a >= 1e4) return fmtNum(x / 1e3) + 'k';
    return fmtNum(x);
  }
  function fmtRate(x) {
    if (x == null || !isFinite(x)) return '–';
    if (x >= 100) return x.toFixed(0);
    if (x >= 10) return x.toFixed(1);
    return x.toFixed(2);
  }
  function fmtSeconds(s) {
    if (s == null || !isFinite(s) || s <= 0) return '–';
    if (s < 1e-3) return (s * 1e6).toFixed(0) + ' µs';
    // Trailing zeros go only after a decimal point: 120 ms stays 120.
    if (s < 1) return (s * 1e3).toPrecision(3).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') + ' ms';
    return s.toFixed(2) + ' s';
  }
  function fmtPct(x, digits) {
    if (x == null || !isFinite(x)) return '–';
    return (x * 100).toFixed(digits == null ? 1 : digits) + '%';
  }
  function fmtP(p) {
    if (p == null || !isFinite(p)) return '–';
    if (p === 0) return '< 1e-300';
    if (p < 1e-3) return p.toExponential(1);
    return p.toPrecision(2);
  }
  function pad2(n) { return String(n).padStart(2, '0'); }
  function fmtClock(t) {
    const d = new Date(t);
    if (isNaN(d.getTime())) return '–';
    return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  }
  function cut(s, n) {
    s = s == null ? '' : String(s);
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }
  // parseDuration reads a Go duration ("5s", "1m30s", "250ms") in seconds.
  function parseDuration(s) {
    if (typeof s !== 'string') return NaN;
    const units = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    let total = 0, rest = s.trim();
    if (rest === '0') return 0;
    const re = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/;
    while (rest) {
      const m = re.exec(rest);
      if (!m) return NaN;
      total += parseFloat(m[1]) * units[m[2]];
      rest = rest.slice(m[0].length);
    }
    return total;
  }
  function fmtSpan(sec) {
    if (!isFinite(sec)) return '';
    if (sec < 120) return Math.round(sec) + 's';
    if (sec < 7200) return Math.round(sec / 60) + 'm';
    return Math.round(sec / 3600) + 'h';
  }

  const TESTS = {
    ks: 'KS', g: 'G-test', chi2: 'χ²', psi: 'PSI', js: 'JS', linf: 'L∞',
    wasserstein: 'Wasserstein', unseen_rate: 'unseen rate', missing_rate: 'missing rate',
    invalid_rate: 'invalid rate', out_of_range_rate: 'out-of-range rate',
  };
  function testName(t) { return TESTS[t] || t || ''; }
  const STATES = { insufficient_data: 'insufficient data', ok: 'ok', warning: 'warning', drift: 'drift', rolled_back: 'rolled back',
    better_by_margin: 'better by margin', not_better: 'not better', worse: 'worse' };
  function badge(state, big) {
    const s = state || 'unknown';
    return el('span', { class: 'badge s-' + s + (big ? ' big' : ''), 'data-state': s, text: STATES[s] || s });
  }
  function correctionName(c) {
    if (c === 'holm') return 'Holm correction';
    if (c === 'bh') return 'Benjamini–Hochberg correction';
    return c ? c + ' correction' : '';
  }
  function featureLabel(name) { return name === '__prediction__' ? 'prediction' : name; }
  function cellLabel(c) {
    const special = {
      __below_min__: '<min', __above_max__: '>max', __missing__: 'missing', __invalid__: 'invalid',
      __unseen__: 'unseen', __other__: 'other',
    };
    if (special[c]) return special[c];
    if (c.startsWith('le=')) return c === 'le=+Inf' ? 'top bin' : '≤ ' + fmtTick(parseFloat(c.slice(3)));
    return c;
  }

  // ---- the admin API -----------------------------------------------------

  function token() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (!m) return '';
    try { return decodeURIComponent(m[1]); } catch (e) { return m[1]; }
  }
  class HTTPError extends Error {
    constructor(status, path) { super(path + ': HTTP ' + status); this.status = status; }
  }
  async function get(path, text) {
    const headers = {};
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    const r = await fetch(path, { headers, cache: 'no-store', credentials: 'same-origin' });
    if (!r.ok) throw new HTTPError(r.status, path);
    return text ? r.text() : r.json();
  }

  // configInfo finds driftcar_config_info{source,version} in /metrics text.
  function configInfo(text) {
    const line = text.split('\n').find((l) => l.startsWith('driftcar_config_info{'));
    if (!line) return null;
    const labels = {};
    const re = /(\w+)="((?:[^"\\]|\\.)*)"/g;
    let m;
    while ((m = re.exec(line))) labels[m[1]] = m[2].replace(/\\(.)/g, '$1');
    return labels;
  }

  // ---- client-side history -------------------------------------------------

  const series = new Map(); // key -> [{t, ...}]
  function push(key, point) {
    let s = series.get(key);
    if (!s) { s = []; series.set(key, s); }
    s.push(point);
    if (s.length > MAX_POINTS) s.splice(0, s.length - MAX_POINTS);
    return s;
  }
  function hist(key) { return series.get(key) || []; }

  const prev = new Map(); // route -> previous cumulative counts

  // ---- charts ------------------------------------------------------------

  function niceStep(range, n) {
    const raw = range / Math.max(1, n);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }

  // timeChart draws lines over time. lines: [{points:[{t,v}], color, width,
  // dash, area}]. It keeps the x domain at least MIN_SPAN_MS wide.
  function timeChart(opts) {
    const W = opts.width || 560, H = opts.height || 180;
    const m = { l: 44, r: 12, t: 10, b: 22 };
    const svg = sv('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': opts.label || 'chart' });
    const all = opts.lines.flatMap((l) => l.points);
    if (all.length < 2) {
      svg.append(sv('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', text: 'collecting data…' }));
      return svg;
    }
    const t1 = Math.max(...all.map((p) => p.t));
    const t0 = Math.min(Math.min(...all.map((p) => p.t)), t1 - MIN_SPAN_MS);
    let lo = opts.yMin != null ? opts.yMin : Math.min(...all.map((p) => p.v));
    let hi = opts.yMax != null ? opts.yMax : Math.max(...all.map((p) => p.v));
    if (opts.yFloor != null) lo = Math.min(lo, opts.yFloor);
    if (!(hi > lo)) { hi = lo + 1; }
    const step = niceStep(hi - lo, 4);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    if (opts.clamp) { lo = Math.max(opts.clamp[0], lo); hi = Math.min(opts.clamp[1], hi); }
    const X = (t) => m.l + ((t - t0) / (t1 - t0)) * (W - m.l - m.r);
    const Y = (v) => H - m.b - ((v - lo) / (hi - lo)) * (H - m.t - m.b);
    for (let v = lo; v <= hi + step / 2; v += step) {
      svg.append(sv('line', { class: 'gridline', x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v) }));
      svg.append(sv('text', { x: m.l - 6, y: Y(v) + 3.5, 'text-anchor': 'end', text: (opts.yFmt || fmtTick)(v) }));
    }
    const ticks = 4;
    for (let i = 0; i <= ticks; i++) {
      const t = t0 + ((t1 - t0) * i) / ticks;
      svg.append(sv('text', { x: X(t), y: H - 6, 'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle', text: fmtClock(t) }));
    }
    for (const l of opts.lines) {
      if (l.points.length < 1) continue;
      const d = l.points.map((p, i) => (i ? 'L' : 'M') + X(p.t).toFixed(1) + ' ' + Y(Math.max(lo, Math.min(hi, p.v))).toFixed(1)).join(' ');
      if (l.area) {
        const a = d + ' L' + X(l.points[l.points.length - 1].t).toFixed(1) + ' ' + Y(lo) + ' L' + X(l.points[0].t).toFixed(1) + ' ' + Y(lo) + ' Z';
        svg.append(sv('path', { d: a, fill: l.color, 'fill-opacity': 0.08, stroke: 'none' }));
      }
      svg.append(sv('path', {
        d, fill: 'none', stroke: l.color, 'stroke-width': l.width || 2, 'stroke-dasharray': l.dash || null,
        'stroke-linejoin': 'round', 'stroke-linecap': 'round',
      }));
    }
    return svg;
  }

  function sparkline(points, color) {
    const W = 200, H = 34;
    const svg = sv('svg', { class: 'spark', viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    if (points.length < 2) return svg;
    const t1 = points[points.length - 1].t, t0 = points[0].t;
    const hi = Math.max(...points.map((p) => p.v)) || 1;
    const X = (t) => ((t - t0) / (t1 - t0)) * W;
    const Y = (v) => H - 2 - (v / hi) * (H - 4);
    const d = points.map((p, i) => (i ? 'L' : 'M') + X(p.t).toFixed(1) + ' ' + Y(p.v).toFixed(1)).join(' ');
    svg.append(sv('path', { d: d + ' L' + W + ' ' + H + ' L' + X(points[0].t).toFixed(1) + ' ' + H + ' Z', fill: color, 'fill-opacity': 0.1 }));
    svg.append(sv('path', { d, fill: 'none', stroke: color, 'stroke-width': 1.6, 'vector-effect': 'non-scaling-stroke' }));
    return svg;
  }

  // histogram draws reference and live proportions side by side per cell.
  function histogram(f, win) {
    const W = 400, H = 150;
    const m = { l: 34, r: 6, t: 8, b: 30 };
    const svg = sv('svg', { class: 'hist', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'reference vs live histogram of ' + f.name });
    const counts = (win && win.counts) || [];
    const total = counts.reduce((a, b) => a + b, 0);
    const cells = [];
    (f.cells || []).forEach((c, i) => {
      const ref = (f.reference || [])[i] || 0;
      const live = total > 0 ? (counts[i] || 0) / total : 0;
      if (c.startsWith('__') && ref === 0 && live === 0) return;
      cells.push({ name: c, i, ref, live, count: counts[i] || 0 });
    });
    if (!cells.length) return svg;
    const hi = Math.max(0.01, ...cells.map((c) => Math.max(c.ref, c.live)));
    const step = niceStep(hi, 3);
    const top = Math.ceil(hi / step) * step;
    const Y = (v) => H - m.b - (v / top) * (H - m.t - m.b);
    for (let v = 0; v <= top + step / 2; v += step) {
      svg.append(sv('line', { class: 'gridline', x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), stroke: 'var(--grid)' }));
      svg.append(sv('text', { x: m.l - 5, y: Y(v) + 3.5, 'text-anchor': 'end', text: fmtTick(Math.round(v * 1000) / 10) + '%' }));
    }
    // Special cells (out of range, unseen, missing) sit after a gap.
    const gap = cells.some((c) => c.name.startsWith('__')) && cells.some((c) => !c.name.startsWith('__')) ? 1 : 0;
    const slots = cells.length + gap;
    const slotW = (W - m.l - m.r) / slots;
    const barW = Math.max(1, Math.min(16, slotW * 0.36));
    let slot = 0, sawSpecial = false;
    const numeric = f.type === 'numeric';
    const labelEvery = Math.max(1, Math.ceil(cells.length / (numeric ? 6 : 10)));
    cells.forEach((c, k) => {
      const special = c.name.startsWith('__');
      if (special && !sawSpecial && gap) { slot++; sawSpecial = true; }
      const x = m.l + slot * slotW + slotW / 2;
      const tip = cellLabel(c.name) + ': reference ' + fmtPct(c.ref) + ', live ' + fmtPct(c.live) + ' (' + c.count + ')';
      svg.append(sv('rect', { class: 'bar-ref', x: (x - barW - 0.5).toFixed(2), y: Y(c.ref).toFixed(2), width: barW.toFixed(2), height: Math.max(0, Y(0) - Y(c.ref)).toFixed(2), rx: 1.5, fill: 'var(--ref)' }, title(tip)));
      svg.append(sv('rect', { class: 'bar-live', x: (x + 0.5).toFixed(2), y: Y(c.live).toFixed(2), width: barW.toFixed(2), height: Math.max(0, Y(0) - Y(c.live)).toFixed(2), rx: 1.5, fill: 'var(--live)' }, title(tip)));
      const isLast = k === cells.length - 1;
      if (special || !numeric) {
        if (special || k % labelEvery === 0) svg.append(sv('text', { x, y: H - m.b + 13, 'text-anchor': 'middle', text: cut(cellLabel(c.name), Math.max(special ? 7 : 4, Math.floor(slotW / 5.5))) }));
      } else if (!isLast && (k + 1) % labelEvery === 0 && f.edges && f.edges[c.i] != null) {
        // Numeric bins are labelled at their upper edge, between bars.
        const bx = x + slotW / 2;
        svg.append(sv('line', { x1: bx, x2: bx, y1: Y(0), y2: Y(0) + 4, stroke: 'var(--faint)' }));
        svg.append(sv('text', { x: bx, y: H - m.b + 14, 'text-anchor': 'middle', text: fmtTick(f.edges[c.i]) }));
      }
      slot++;
    });
    svg.append(sv('line', { class: 'axis', x1: m.l, x2: W - m.r, y1: Y(0), y2: Y(0), stroke: 'var(--line)' }));
    if (numeric) svg.append(sv('text', { x: (W + m.l) / 2, y: H - 3, 'text-anchor': 'middle', text: 'reference-quantile bins' }));
    return svg;
  }

  // statChart draws a test's statistic and its threshold over time.
  function statChart(points, color) {
    const W = 400, H = 92;
    const m = { l: 34, r: 6, t: 8, b: 18 };
    const svg = sv('svg', { class: 'stat', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'statistic against threshold' });
    if (points.length < 2) {
      svg.append(sv('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', text: 'collecting data…' }));
      return svg;
    }
    const t1 = points[points.length - 1].t, t0 = Math.min(points[0].t, t1 - MIN_SPAN_MS);
    const hi = Math.max(...points.map((p) => Math.max(p.v, p.thr || 0))) * 1.12 || 1;
    const X = (t) => m.l + ((t - t0) / (t1 - t0)) * (W - m.l - m.r);
    const Y = (v) => H - m.b - (Math.min(v, hi) / hi) * (H - m.t - m.b);
    const step = niceStep(hi, 2);
    for (let v = 0; v <= hi; v += step) {
      svg.append(sv('line', { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), stroke: 'var(--grid)' }));
      svg.append(sv('text', { x: m.l - 5, y: Y(v) + 3.5, 'text-anchor': 'end', text: fmtTick(v) }));
    }
    // Shade the intervals where the statistic is over its threshold.
    points.forEach((p, i) => {
      if (i === 0 || !(p.thr > 0) || p.v <= p.thr) return;
      const a = points[i - 1];
      svg.append(sv('rect', { x: X(a.t), y: m.t, width: Math.max(0.5, X(p.t) - X(a.t)), height: H - m.t - m.b, fill: 'var(--drift)', 'fill-opacity': 0.07 }));
    });
    const line = (key) => points.filter((p) => p[key] != null && isFinite(p[key]))
      .map((p, i) => (i ? 'L' : 'M') + X(p.t).toFixed(1) + ' ' + Y(p[key]).toFixed(1)).join(' ');
    const thr = line('thr');
    if (thr) svg.append(sv('path', { d: thr, fill: 'none', stroke: 'var(--drift)', 'stroke-width': 1.4, 'stroke-dasharray': '5 4' }));
    svg.append(sv('path', { d: line('v'), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round' }));
    const last = points[points.length - 1];
    svg.append(sv('circle', { cx: X(last.t), cy: Y(last.v), r: 3, fill: color }));
    svg.append(sv('text', { x: m.l, y: H - 4, 'text-anchor': 'start', text: fmtClock(t0) }));
    svg.append(sv('text', { x: W - m.r, y: H - 4, 'text-anchor': 'end', text: fmtClock(t1) }));
    return svg;
  }

  function legend(items) {
    return el('div', { class: 'legend' }, items.map((it) => el('span', { class: it.dash ? 'dash' : null, style: { '--c': it.color }, text: it.label })));
  }

  // ---- drift helpers -----------------------------------------------------

  // mainTest is the test charted for a feature: KS for numeric features,
  // the G-test for categorical ones, else the first with a threshold.
  function mainTest(type, tests) {
    const pref = type === 'numeric' ? ['ks', 'g', 'psi'] : ['g', 'linf', 'psi'];
    for (const t of pref) if (tests[t]) return t;
    return Object.keys(tests).sort().find((t) => tests[t].threshold != null) || null;
  }
  // strongest is the test closest to (or furthest over) its threshold.
  function strongest(tests) {
    let best = null, ratio = -1;
    for (const name of Object.keys(tests).sort()) {
      const t = tests[name];
      if (t.threshold == null || !(t.threshold > 0)) continue;
      const r = t.statistic / t.threshold;
      if (r > ratio) { ratio = r; best = name; }
    }
    return best;
  }

  // ---- rendering -----------------------------------------------------------

  const views = new Map(); // route -> {root, parts}
  let cfg = null, info = null, polls = 0;

  function routeView(name) {
    let v = views.get(name);
    if (v) return v;
    const parts = {
      head: el('div', { class: 'route-head' }),
      kpis: el('div', { class: 'kpis' }),
      rates: el('div'),
      agree: el('div'),
      features: el('div', { class: 'features' }),
      mismatches: el('div', { class: 'tablewrap' }),
      history: el('div', { class: 'tablewrap' }),
      guard: el('div'),
      llm: el('div', { class: 'tablewrap' }),
      llmTitle: el('span', { class: 'hint' }),
      truth: el('div', { class: 'tablewrap' }),
      truthTitle: el('span', { class: 'hint' }),
      featTitle: el('span', { class: 'hint' }),
      mmTitle: el('span', { class: 'hint' }),
    };
    parts.llmBox = el('div', { class: 'llm', hidden: true },
      el('div', { class: 'section-title' }, el('span', { text: 'LLM answers' }), parts.llmTitle),
      el('div', { class: 'card' }, parts.llm));
    parts.truthBox = el('div', { class: 'truth', hidden: true },
      el('div', { class: 'section-title' }, el('span', { text: 'Ground truth' }), parts.truthTitle),
      el('div', { class: 'card' }, parts.truth));
    const root = el('section', { class: 'route', 'data-route': name },
      parts.head,
      parts.kpis,
      el('div', { class: 'two' },
        el('div', { class: 'card' }, el('h3', null, 'Requests per second'), parts.rates),
        el('div', { class: 'card' }, el('h3', null, 'Shadow agreement'), parts.agree)),
      parts.llmBox,
      parts.truthBox,
      el('div', { class: 'section-title' }, el('span', { text: 'Features' }), parts.featTitle),
      parts.features,
      el('div', { class: 'section-title' }, el('span', { text: 'Latest shadow mismatches' }), parts.mmTitle),
      el('div', { class: 'card' }, parts.mismatches),
      el('div', { class: 'two wide' },
        el('div', { class: 'card' }, el('h3', null, 'Drift history'), parts.history),
        el('div', { class: 'card' }, el('h3', null, 'Canary guard'), parts.guard)));
    v = { root, parts, features: new Map(), open: new Set() };
    views.set(name, v);
    return v;
  }

  function roleLabel(name, role) { return name === role ? name : name + ' (' + role + ')'; }
  function armColor(i) { return i === 0 ? 'var(--live)' : ['var(--canary)', '#0ca678', '#d6336c', '#1098ad'][(i - 1) % 4]; }

  function renderRoute(now, r, feats, drift, mism, guard, truth) {
    const v = routeView(r.route);
    const p = v.parts;
    // Rates from cumulative counts between polls.
    const last = prev.get(r.route);
    const cur = { t: now, arms: {}, tokens: {}, shadow: 0, match: 0, mismatch: 0, undecodable: 0 };
    for (const a of r.arms || []) {
      cur.arms[a.arm] = a.requests;
      if (a.llm) cur.tokens[a.arm] = completionTokens(a.llm);
    }
    if (r.shadow) {
      const q = r.shadow.requests || {};
      cur.shadow = (q.ok || 0) + (q.error || 0) + (q.timeout || 0);
      const c = r.shadow.comparisons || {};
      cur.match = c.match || 0; cur.mismatch = c.mismatch || 0; cur.undecodable = c.undecodable || 0;
    }
    prev.set(r.route, cur);
    const dt = last ? (now - last.t) / 1000 : 0;
    const rate = (a, b) => (dt > 0 && a >= b ? (a - b) / dt : null);
    if (last && dt > 0) {
      (r.arms || []).forEach((a) => {
        const x = rate(a.requests, last.arms[a.arm]);
        if (x != null) push(r.route + '/arm/' + a.arm, { t: now, v: x });
        const y = a.llm ? rate(cur.tokens[a.arm], last.tokens[a.arm]) : null;
        if (y != null) push(r.route + '/tokens/' + a.arm, { t: now, v: y });
      });
      if (r.shadow) {
        const x = rate(cur.shadow, last.shadow);
        if (x != null) push(r.route + '/shadow', { t: now, v: x });
        const dm = cur.match - last.match, dx = cur.mismatch - last.mismatch + (cur.undecodable - last.undecodable);
        if (dm >= 0 && dx >= 0 && dm + dx > 0) push(r.route + '/agree', { t: now, v: dm / (dm + dx) });
      }
    }
    const compared = cur.match + cur.mismatch + cur.undecodable;
    const agreeAll = compared > 0 ? cur.match / compared : null;
    if (agreeAll != null) push(r.route + '/agree-all', { t: now, v: agreeAll });

    // Header: dataset state.
    const ds = drift && drift.dataset;
    const head = [el('h2', { text: 'Route ' + r.route })];
    if (drift && drift.ready === false) head.push(badge('insufficient_data', true), el('span', { class: 'sub', text: 'learning the reference from live traffic…' }));
    else if (ds) {
      head.push(el('span', { class: 'sub', text: 'dataset' }), badge(ds.state, true),
        el('span', { class: 'sub', text: ds.drifted + ' of ' + ds.features + ' features drifting · ' + correctionName(ds.correction) }));
    }
    const total = (r.arms || []).reduce((s, a) => s + a.requests, 0);
    head.push(el('span', { class: 'sub', text: '· ' + total.toLocaleString('en-US') + ' requests since start' }));
    p.head.replaceChildren(...head);

    // KPI tiles.
    const tiles = (r.arms || []).map((a, i) => {
      const pts = hist(r.route + '/arm/' + a.arm);
      const x = pts.length ? pts[pts.length - 1].v : null;
      const color = armColor(i);
      return el('div', { class: 'card kpi', 'data-arm': a.arm, style: { '--accent': color } },
        el('div', { class: 'top' }, el('span', { class: 'arm', text: a.arm }), el('span', { class: 'role', text: i === 0 ? 'live' : 'canary' })),
        el('div', { class: 'value' }, fmtRate(x), el('small', { text: 'req/s' })),
        el('div', { class: 'facts' },
          el('span', null, 'weight ', el('b', { text: a.weight + '%' })),
          el('span', null, 'p50 ', el('b', { text: fmtSeconds(a.p50_seconds) })),
          el('span', null, 'p99 ', el('b', { text: fmtSeconds(a.p99_seconds) })),
          a.llm ? el('span', null, 'TTFT p99 ', el('b', { text: fmtSeconds(a.llm.ttft_p99_seconds) })) : null,
          el('span', null, 'errors ', el('b', { text: a.requests ? fmtPct(a.errors / a.requests, 2) : '–' }))),
        sparkline(pts, color));
    });
    if (r.shadow) {
      const pts = hist(r.route + '/shadow');
      const x = pts.length ? pts[pts.length - 1].v : null;
      const q = r.shadow.requests || {};
      const dropped = Object.keys(q).filter((k) => k.startsWith('dropped') || k === 'error' || k === 'timeout').reduce((s, k) => s + q[k], 0);
      tiles.push(el('div', { class: 'card kpi', 'data-arm': 'shadow', style: { '--accent': 'var(--shadow)' } },
        el('div', { class: 'top' }, el('span', { class: 'arm', text: r.shadow.upstream }), el('span', { class: 'role', text: 'shadow' })),
        el('div', { class: 'value' }, fmtRate(x), el('small', { text: 'req/s' })),
        el('div', { class: 'facts' },
          el('span', null, 'p50 ', el('b', { text: fmtSeconds(r.shadow.p50_seconds) })),
          el('span', null, 'p99 ', el('b', { text: fmtSeconds(r.shadow.p99_seconds) })),
          el('span', null, 'failed/dropped ', el('b', { text: dropped.toLocaleString('en-US') }))),
        sparkline(pts, 'var(--shadow)')));
      const ag = hist(r.route + '/agree');
      tiles.push(el('div', { class: 'card kpi', 'data-kpi': 'agreement', style: { '--accent': 'var(--ok)' } },
        el('div', { class: 'top' }, el('span', { class: 'arm', text: 'agreement' }), el('span', { class: 'role', text: 'shadow vs live' })),
        el('div', { class: 'value', id: 'agreement-' + r.route }, fmtPct(ag.length ? ag[ag.length - 1].v : agreeAll), el('small', { text: 'last 2 s' })),
        el('div', { class: 'facts' },
          el('span', null, 'overall ', el('b', { text: fmtPct(agreeAll) })),
          el('span', null, 'mismatches ', el('b', { text: cur.mismatch.toLocaleString('en-US') })),
          cur.undecodable ? el('span', null, 'undecodable ', el('b', { text: cur.undecodable.toLocaleString('en-US') })) : null),
        sparkline(ag, 'var(--ok)')));
    }
    p.kpis.replaceChildren(...tiles);

    // Rates chart.
    const lines = (r.arms || []).map((a, i) => ({ points: hist(r.route + '/arm/' + a.arm), color: armColor(i), width: 2, label: roleLabel(a.arm, i === 0 ? 'live' : 'canary') }));
    if (r.shadow) lines.push({ points: hist(r.route + '/shadow'), color: 'var(--shadow)', width: 1.6, dash: '5 4', label: roleLabel(r.shadow.upstream, 'shadow') });
    p.rates.replaceChildren(timeChart({ lines, yMin: 0, label: 'requests per second' }),
      legend(lines.map((l) => ({ label: l.label, color: l.color, dash: !!l.dash }))));

    // Agreement chart.
    if (r.shadow) {
      const a = hist(r.route + '/agree'), all = hist(r.route + '/agree-all');
      p.agree.replaceChildren(
        timeChart({ lines: [{ points: a, color: 'var(--shadow)', width: 1.5, area: true }, { points: all, color: 'var(--ink)', width: 2 }], clamp: [0, 1], yMax: 1, label: 'shadow agreement', yFmt: (x) => fmtTick(Math.round(x * 1000) / 10) + '%' }),
        legend([{ label: 'agreement per 2 s', color: 'var(--shadow)' }, { label: 'overall', color: 'var(--ink)' }]));
    } else {
      p.agree.replaceChildren(el('p', { class: 'none', text: 'This route has no shadow (routes[].shadow in the config).' }));
    }

    renderLLM(v, r);
    renderTruth(v, truth);
    renderFeatures(now, v, feats, drift);
    renderMismatches(v, (mism || []).filter((x) => x.route === r.route));
    renderGuard(v, guard);
  }

  function completionTokens(l) {
    const t = l.tokens || {};
    return (t.completion_usage || 0) + (t.completion_chunks || 0);
  }
  // tokenSource says where an arm's completion tokens come from: the
  // servers' usage objects, or counted chunks of streams without usage.
  function tokenSource(t) {
    if (t.completion_usage && t.completion_chunks) return 'usage + chunks';
    if (t.completion_chunks) return 'chunks';
    if (t.completion_usage) return 'usage';
    return '';
  }

  // renderLLM shows the streamed-answer timing and token counts of the
  // arms of an openai route; other routes report none and hide the card.
  function renderLLM(v, r) {
    const p = v.parts;
    const arms = (r.arms || []).map((a, i) => ({ a, i })).filter((x) => x.a.llm);
    p.llmBox.hidden = !arms.length;
    if (!arms.length) return;
    p.llmTitle.textContent = 'OpenAI-compatible route · streams timed by the proxy · since start';
    const n = (x) => (x || 0).toLocaleString('en-US');
    const rows = arms.map(({ a, i }) => {
      const l = a.llm, t = l.tokens || {};
      const pts = hist(r.route + '/tokens/' + a.arm);
      const finish = Object.keys(l.finish || {}).sort((x, y) => l.finish[y] - l.finish[x] || (x < y ? -1 : 1));
      const src = tokenSource(t);
      return el('tr', { 'data-llm-arm': a.arm },
        el('td', { class: 'nowrap' }, el('span', { class: 'swatch', style: { '--c': armColor(i) } }), roleLabel(a.arm, i === 0 ? 'live' : 'canary')),
        el('td', { class: 'num', 'data-cell': 'streams', text: n(l.streams) }),
        el('td', { class: 'num', 'data-cell': 'ttft-p50', text: fmtSeconds(l.ttft_p50_seconds) }),
        el('td', { class: 'num', 'data-cell': 'ttft-p99', text: fmtSeconds(l.ttft_p99_seconds) }),
        el('td', { class: 'num', 'data-cell': 'inter-token-p99', text: fmtSeconds(l.inter_token_p99_seconds) }),
        el('td', { class: 'num', 'data-cell': 'tokens-rate', text: pts.length ? fmtRate(pts[pts.length - 1].v) : '–' }),
        el('td', { class: 'num', 'data-cell': 'prompt', text: n(t.prompt) }),
        el('td', { class: 'num', 'data-cell': 'completion' }, n(completionTokens(l)), src ? el('span', { class: 'muted', text: ' ' + src }) : null),
        el('td', { 'data-cell': 'finish' }, finish.length ? finish.map((k, j) => [j ? ' · ' : '', k + ' ', el('b', { text: n(l.finish[k]) })]) : el('span', { class: 'muted', text: 'none yet' })));
    });
    p.llm.replaceChildren(el('table', null,
      el('thead', null, el('tr', null, ['arm', 'streams', 'TTFT p50', 'TTFT p99', 'inter-token p99', 'tokens/s', 'prompt tokens', 'completion tokens', 'finish reasons'].map((h) => el('th', { text: h })))),
      el('tbody', null, rows)));
  }

  // renderTruth shows each arm's labelled performance over the windows,
  // its state against the reference, and each challenger's verdict; the
  // card is hidden when ground_truth is not configured.
  function renderTruth(v, t) {
    const p = v.parts;
    p.truthBox.hidden = !t;
    if (!t) return;
    const numeric = t.label === 'numeric';
    const ref = t.reference;
    p.truthTitle.textContent = 'labels joined by request id · ' + (ref
      ? 'reference ' + ref.metric + ' ' + (numeric ? fmtNum(ref.value) : fmtPct(ref.value, 1)) + ' (' + ref.from + ', ' + ref.rows.toLocaleString('en-US') + ' rows)'
      : (t.untested || 'no reference yet'));
    const wins = t.windows || [];
    const metric = (w) => {
      if (!w || !w.labels) return '–';
      if (numeric) return 'MAE ' + fmtNum(w.mae) + ' · RMSE ' + fmtNum(w.rmse);
      return fmtPct(w.accuracy, 1) + (w.auc != null ? ' · AUC ' + w.auc.toFixed(3) : '');
    };
    const verdict = (a) => {
      const vd = a.verdict;
      if (!vd) return a.role === 'live' ? el('span', { class: 'muted', text: 'champion' }) : '–';
      const diff = vd.difference == null ? '' : ' ' + (numeric ? fmtNum(vd.difference) : (vd.difference >= 0 ? '+' : '') + fmtPct(vd.difference, 1));
      return [badge(vd.verdict), el('span', { class: 'muted', text: diff + (vd.pvalue != null ? ' · p ' + fmtP(vd.pvalue) : '') + ' · ' + (vd.paired ? 'paired' : 'unpaired') + ', n ' + vd.n.toLocaleString('en-US') })];
    };
    const rows = (t.arms || []).map((a, i) => el('tr', { 'data-truth-arm': a.arm },
      el('td', { class: 'nowrap' }, el('span', { class: 'swatch', style: { '--c': a.role === 'shadow' ? 'var(--shadow)' : armColor(i) } }), roleLabel(a.arm, a.role)),
      el('td', { class: 'num', 'data-cell': 'labels', text: (a.labels || 0).toLocaleString('en-US') }),
      ...wins.map((name, j) => el('td', { class: 'num', 'data-cell': 'window-' + name, text: metric((a.windows || [])[j]) })),
      el('td', { 'data-cell': 'state' }, badge(a.state), (a.sla_breached || []).length ? el('span', { class: 'muted', text: ' SLA: ' + a.sla_breached.join(', ') }) : null),
      el('td', { 'data-cell': 'verdict' }, verdict(a))));
    p.truth.replaceChildren(el('table', null,
      el('thead', null, el('tr', null, ['arm', 'labels'].concat(wins.map((w) => (numeric ? 'error ' : 'accuracy ') + w), ['performance', 'verdict vs live']).map((h) => el('th', { text: h })))),
      el('tbody', null, rows)));
  }

  function renderFeatures(now, v, feats, drift) {
    const p = v.parts;
    const byName = new Map(((drift && drift.features) || []).map((f) => [f.name, f]));
    const list = (feats && feats.features) || [];
    if (feats && feats.learning) {
      p.features.replaceChildren(el('p', { class: 'none', text: 'Learning the reference: ' + (feats.rows || 0).toLocaleString('en-US') + ' rows so far.' }));
      p.featTitle.textContent = '';
      return;
    }
    if (!list.length) {
      p.features.replaceChildren(el('p', { class: 'none', text: 'No sampled features on this route (routes[].sample and features[] in the config).' }));
      p.featTitle.textContent = '';
      return;
    }
    const sliceSec = cfg && cfg.sketch ? parseDuration(cfg.sketch.slice_duration) : NaN;
    const win0 = list[0].windows && list[0].windows[0];
    p.featTitle.textContent = 'reference vs live' + (win0 ? ' over the last ' + (isFinite(sliceSec) ? fmtSpan(win0.slices * sliceSec) : win0.slices + ' slices') : '') +
      ' · statistic vs threshold since this page opened';
    const cards = list.map((f) => {
      const d = byName.get(f.name);
      const state = d ? d.state : 'insufficient_data';
      const key = v.root.dataset.route + '/feat/' + f.name;
      let statLine = [el('span', { class: 'muted', text: 'not tested yet' })];
      let chart = statChart([], 'var(--ink)');
      let chartLabel = '';
      const w = d && d.windows && d.windows[0];
      if (w && w.tests && Object.keys(w.tests).length) {
        const main = mainTest(f.type, w.tests);
        if (main) {
          const t = w.tests[main];
          const pts = push(key + '/' + main, { t: now, v: t.statistic, thr: t.threshold });
          chart = statChart(pts, state === 'drift' ? 'var(--drift)' : state === 'warning' ? 'var(--warn)' : 'var(--live)');
          chartLabel = testName(main) + ' · window ' + w.window + ' · n ' + (w.n || 0).toLocaleString('en-US');
        }
        const s = strongest(w.tests);
        if (s) {
          const t = w.tests[s];
          statLine = [
            'strongest ', el('b', { text: testName(s) }), ' ',
            el('span', { class: t.breach || t.statistic > t.threshold ? 'over' : null, text: fmtNum(t.statistic) }),
            el('span', { class: 'muted', text: ' vs ' + fmtNum(t.threshold) }),
            t.pvalue != null ? el('span', { class: 'muted', text: ' · p ' + fmtP(t.pvalue) }) : null,
          ];
        }
      } else if (w && !w.tested) {
        statLine = [el('span', { class: 'muted', text: 'window ' + w.window + ': ' + (w.n || 0) + ' samples, too few to test' })];
      }
      const lw = f.windows && f.windows[0];
      const extra = lw ? (f.type === 'numeric' && lw.mean ? 'live mean ' + fmtNum(lw.mean) : lw.distinct ? lw.distinct + ' distinct values' : '') : '';
      return el('div', { class: 'card feature s-' + state, 'data-feature': f.name, 'data-state': state },
        el('div', { class: 'fh' },
          el('div', null, el('span', { class: 'fname', text: featureLabel(f.name) }), el('span', { class: 'ftype', text: f.name === '__prediction__' ? 'model output · ' + f.type : f.type })),
          badge(state)),
        el('div', { class: 'fstat' }, statLine, d && d.since && state !== 'ok' && state !== 'insufficient_data' ? el('span', { class: 'muted', text: ' · since ' + fmtClock(d.since) }) : null),
        el('div', { class: 'label' }, el('span', { text: 'reference vs live' }), el('span', { text: extra })),
        histogram(f, lw),
        legend([{ label: 'reference', color: 'var(--ref)' }, { label: 'live' + (lw ? ' (n ' + lw.n.toLocaleString('en-US') + ')' : ''), color: 'var(--live)' }]),
        el('div', { class: 'label' }, el('span', { text: 'statistic vs threshold' }), el('span', { text: chartLabel })),
        chart);
    });
    p.features.replaceChildren(...cards);
  }

  function renderMismatches(v, list) {
    const p = v.parts;
    // Keep the rows a user opened open across refreshes.
    p.mismatches.querySelectorAll('details[open]').forEach((d) => v.open.add(d.dataset.id));
    p.mismatches.querySelectorAll('details:not([open])').forEach((d) => v.open.delete(d.dataset.id));
    p.mmTitle.textContent = list.length ? 'newest first · ' + Math.min(list.length, MAX_MISMATCHES) + ' of ' + list.length + ' kept' : '';
    if (!list.length) {
      p.mismatches.replaceChildren(el('p', { class: 'none', text: 'No disagreements recorded.' }));
      return;
    }
    const rows = list.slice(0, MAX_MISMATCHES).map((m) => {
      const id = String(m.request_id || '') + '@' + String(m.time || '');
      const det = el('details', { 'data-id': id },
        el('summary', { text: 'bodies' + (m.truncated ? ' (truncated)' : '') }),
        el('pre', { text: 'request  ' + cut(m.request_body, BODY_FULL) + '\nlive     ' + cut(m.live_body, BODY_FULL) + '\nshadow   ' + cut(m.shadow_body, BODY_FULL) }));
      if (v.open.has(id)) det.open = true;
      const status = m.live_status !== m.shadow_status ? ' (' + m.live_status + ' vs ' + m.shadow_status + ')' : '';
      return el('tr', null,
        el('td', { class: 'nowrap', text: fmtClock(m.time) }),
        el('td', { class: 'nowrap mono', title: m.request_id, text: cut(m.request_id, 13) }),
        el('td', null, el('span', { class: 'pred l', text: cut(m.live, 48) })),
        el('td', null, el('span', { class: 'pred s', text: cut(m.shadow, 48) })),
        el('td', { text: cut(m.reason, 60) + status }),
        el('td', null, el('div', { class: 'body', text: cut(m.request_body, BODY_CELL) }), det));
    });
    p.mismatches.replaceChildren(el('table', null,
      el('thead', null, el('tr', null, ['time', 'request id', 'live', 'shadow', 'reason', 'request'].map((h) => el('th', { text: h })))),
      el('tbody', null, rows)));
  }

  function renderHistory(routes, history) {
    for (const [name, v] of views) {
      const list = (history || []).filter((h) => h.route === name)
        .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, MAX_HISTORY);
      if (!list.length) {
        v.parts.history.replaceChildren(el('p', { class: 'none', text: 'No state changes yet.' }));
        continue;
      }
      v.parts.history.replaceChildren(el('table', null,
        el('thead', null, el('tr', null, ['time', 'feature', 'change', 'test', 'statistic', 'p-value'].map((h) => el('th', { text: h })))),
        el('tbody', null, list.map((h) => el('tr', null,
          el('td', { class: 'nowrap', text: fmtClock(h.at) }),
          el('td', { class: 'nowrap', text: h.feature ? featureLabel(h.feature) : 'dataset' }),
          el('td', { class: 'nowrap' }, badge(h.from), el('span', { class: 'arrow', text: '→' }), badge(h.to)),
          el('td', { class: 'nowrap', text: h.test ? testName(h.test) + (h.window ? ' · ' + h.window : '') : '' }),
          el('td', { class: 'num', text: h.test ? fmtNum(h.statistic) + (h.threshold ? ' / ' + fmtNum(h.threshold) : '') : '' }),
          el('td', { class: 'num', text: h.pvalue ? fmtP(h.pvalue) : '' }))))));
    }
  }

  function renderGuard(v, g) {
    const p = v.parts;
    if (!g) {
      p.guard.replaceChildren(el('p', { class: 'none', text: 'The canary guard is off for this route (canary_guard in the config).' }));
      return;
    }
    const checks = g.checks || [];
    const opt = (x, f) => (x == null ? '–' : f(x));
    const ttft = checks.some((c) => c.ttft_p99_ratio != null);
    const heads = ['canary', 'requests', '5xx rate', 'p99 ratio'].concat(ttft ? ['TTFT p99 ratio'] : [], ['prediction p', 'breaches']);
    p.guard.replaceChildren(
      el('div', { class: 'legend' }, el('span', { class: 'muted', text: 'state' }), badge(g.state, true)),
      checks.length ? el('div', { class: 'tablewrap' }, el('table', null,
        el('thead', null, el('tr', null, heads.map((h) => el('th', { text: h })))),
        el('tbody', null, checks.map((c) => el('tr', null,
          el('td', { class: 'nowrap' }, c.arm, c.rolled_back ? el('span', { class: 'muted', text: ' · rolled back' + (c.rollback_reason ? ' (' + c.rollback_reason + ')' : '') }) : null),
          el('td', { class: 'num', text: (c.requests || 0).toLocaleString('en-US') + ' / ' + (c.live_requests || 0).toLocaleString('en-US') }),
          el('td', { class: 'num', text: opt(c.error_rate, (x) => fmtPct(x, 2)) + ' vs ' + opt(c.live_error_rate, (x) => fmtPct(x, 2)) }),
          el('td', { class: 'num', text: opt(c.p99_ratio, (x) => x.toFixed(2) + '×') }),
          ttft ? el('td', { class: 'num', 'data-cell': 'ttft-p99-ratio', text: opt(c.ttft_p99_ratio, (x) => x.toFixed(2) + '×') }) : null,
          el('td', { class: 'num', text: opt(c.prediction_pvalue, fmtP) }),
          el('td', { text: (c.breaches || []).join(', ') + (c.streak ? ' (streak ' + c.streak + ')' : '') || 'none' })))))) : el('p', { class: 'none', text: 'No canary checks yet.' }));
  }

  function renderHeader() {
    if (cfg && cfg.model) $('model').textContent = 'model ' + cfg.model;
    const c = $('config');
    if (info) {
      c.replaceChildren('config ', el('b', { text: info.source || '?' }), ' · version ', el('b', { class: 'mono', text: info.version || '?' }));
      c.dataset.version = info.version || '';
    }
  }

  function setStatus(ok, text) {
    const s = $('status');
    s.className = 'status ' + (ok ? 'ok' : 'err');
    $('status-text').textContent = text;
  }

  function showBanner(strong, rest) {
    const b = $('banner');
    if (!strong) { b.hidden = true; b.replaceChildren(); return; }
    b.replaceChildren(el('strong', { text: strong }), ...rest);
    b.hidden = false;
  }

  function unauthorized() {
    const base = location.href.split('#')[0];
    if (token()) {
      showBanner('The admin API rejected the token (401 Unauthorized).', ['Check the token after ', el('code', { text: '#token=' }), ' in the address: it must equal the sidecar\u2019s ', el('code', { text: 'admin_token' }), '.']);
    } else {
      showBanner('This admin API needs a token (401 Unauthorized).', ['Open the page with the sidecar\u2019s ', el('code', { text: 'admin_token' }), ' in the address fragment: ', el('code', { text: base + '#token=<admin_token>' }), ' (the fragment never leaves your browser).']);
    }
    setStatus(false, 'unauthorized');
  }

  async function poll() {
    const now = Date.now();
    const slow = polls % SLOW_EVERY === 0;
    polls++;
    const jobs = [
      get('api/routes'), get('api/shadow/mismatches'), get('api/features'), get('api/drift'),
      slow ? get('api/config') : Promise.resolve(null),
      slow ? get('metrics', true) : Promise.resolve(null),
      get('api/ground-truth'),
    ];
    const res = await Promise.allSettled(jobs);
    const val = (i) => (res[i].status === 'fulfilled' ? res[i].value : null);
    if (res.some((r) => r.status === 'rejected' && r.reason && r.reason.status === 401)) {
      unauthorized();
      return;
    }
    if (res[0].status === 'rejected') {
      setStatus(false, 'admin API unreachable, retrying');
      return;
    }
    showBanner(null);
    if (val(4)) cfg = val(4);
    if (val(5)) info = configInfo(val(5)) || info;
    renderHeader();
    const routes = val(0) || [];
    const feats = val(2) || [];
    const drift = val(3) || {};
    const mism = val(1) || [];
    const truth = val(6) || {};
    const main = $('routes');
    const loading = $('loading');
    if (loading) loading.remove();
    if (!routes.length && !main.querySelector('.route')) main.replaceChildren(el('p', { class: 'empty', id: 'loading', text: 'No routes configured.' }));
    for (const r of routes) {
      const v = routeView(r.route);
      if (!v.root.isConnected) main.append(v.root);
      renderRoute(now, r,
        feats.find((f) => f.route === r.route),
        (drift.routes || []).find((d) => d.route === r.route),
        mism,
        (drift.canary || []).find((g) => g.route === r.route),
        truthOf(truth, r.route));
    }
    renderHistory(routes, drift.history);
    const failed = res.filter((r) => r.status === 'rejected').length;
    setStatus(true, 'live · updated ' + fmtClock(now) + (failed ? ' · ' + failed + ' endpoint(s) failed' : ''));
  }

  // truthOf is a route's ground-truth view with the monitor's label kind
  // and windows, or null.
  function truthOf(t, route) {
    const r = (t.routes || []).find((x) => x.route === route);
    return r ? Object.assign({ label: t.label, windows: t.windows }, r) : null;
  }

  async function loop() {
    try { await poll(); } catch (e) { setStatus(false, 'error: ' + (e && e.message ? e.message : e)); }
    setTimeout(loop, POLL_MS);
  }
  window.addEventListener('hashchange', () => { polls = 0; });
  loop();
})();
