// A plotly chart that stays mounted while the script reruns: each new figure is drawn into the same chart
// (Plotly.react, or Plotly.animate when only the points moved). st.plotly_chart replaces its chart whenever the figure changes (a new element) and then
// draws every point twice; for the Embeddings scatter that was ~0.5 s per slider step (benchmarks/README.md).
//
// ui.in_place_chart registers this file as an st.components.v2 component (its text, inline) and passes
// data = {figure, config, src, selectable}: the figure's JSON, plotly's config, the URL of plotly.js, which the
// app serves from static/ (a copy of the installed plotly package's own plotly.min.js: offline, and the
// plotly.js that plotly.py's JSON is written for), and whether selecting points (lasso, box or a click) sets the
// state value "selection" to the points' customdata.

const loaded = new Map(); // plotly.js URL -> Promise of window.Plotly: one <script> per page

function plotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loaded.has(src)) {
    loaded.set(
      src,
      new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = () => resolve(window.Plotly);
        script.onerror = () => {
          loaded.delete(src);
          reject(new Error(`plotly.js could not be loaded from ${src}`));
        };
        document.head.appendChild(script);
      }),
    );
  }
  return loaded.get(src);
}

const charts = new WeakMap(); // the component's element -> {div, latest, queue, drawn, shape, positions, ...}

// The figure without its points' positions: when only those change (a 2-D scatter at the next training step),
// Plotly.animate moves the drawn points (~0.65x the time of Plotly.react, which restyles every point). Not with
// selected points: plotly.js's transition fails on them.
function shape(figure) {
  const data = figure.data.map(({ x, y, ...rest }) => rest);
  return JSON.stringify([data, figure.layout, figure.config, figure.frames ?? null]);
}

function onlyMoved(chart, figure) {
  return (
    chart.shape === shape(figure) &&
    !figure.frames &&
    figure.data.every((trace) => (trace.type ?? "scatter") === "scatter" && !trace.selectedpoints)
  );
}

function customdata(point) {
  const v = point.customdata;
  return Array.isArray(v) ? v[0] : v;
}

async function redraw(Plotly, chart, figure) {
  if (onlyMoved(chart, figure)) {
    const moved = { data: figure.data.map(({ x, y }) => ({ x, y })), traces: figure.data.map((_, i) => i) };
    const now = { duration: 0, redraw: false };
    await Plotly.animate(chart.div, moved, { mode: "immediate", frame: now, transition: { duration: 0 } });
  } else {
    chart.shape = shape(figure);
    await Plotly.react(chart.div, figure);
  }
}

async function draw(Plotly, chart, figure, selectable, setStateValue) {
  const { div } = chart;
  chart.selectable = selectable; // the same chart can change: a 3-D or animated scatter has no selection
  const positions = JSON.stringify(figure.data.map(({ x, y, z }) => [x, y, z]));
  const moved = chart.drawn && positions !== chart.positions;
  chart.positions = positions;
  if (chart.drawn) {
    chart.quiet = true; // plotly.js reports selections while redrawing: not the user's, so not passed on
    try {
      if (moved && div.layout.selections?.length) {
        // the points moved (another training step): the loop drawn around them would now select others;
        // the selected images stay selected (the figure's selectedpoints)
        await Plotly.relayout(div, { selections: [] });
      }
      await redraw(Plotly, chart, figure);
    } finally {
      chart.quiet = false;
    }
    return;
  }
  chart.shape = shape(figure);
  div.textContent = ""; // an earlier error's message
  await Plotly.newPlot(div, figure);
  chart.drawn = true;
  let width = div.clientWidth; // follow the column's width (a window resized, the sidebar closed)
  chart.resizer = new ResizeObserver(() => {
    if (div.clientWidth !== width && div.clientWidth > 0 && div.isConnected && !chart.gone) {
      Plotly.Plots.resize(div).catch(() => {}); // removed meanwhile: nothing to fit
    }
    width = div.clientWidth;
  });
  chart.resizer.observe(div);
  div.on("plotly_selected", (event) => {
    if (!event || chart.quiet || !chart.selectable) return; // no event: a click beside the points
    setStateValue("selection", event.points.map(customdata).filter((v) => v !== undefined && v !== null));
  });
  div.on("plotly_deselect", () => chart.quiet || !chart.selectable || setStateValue("selection", []));
}

function forget(chart) {
  chart.resizer?.disconnect();
  if (chart.drawn && window.Plotly) window.Plotly.purge(chart.div); // its listeners too
  chart.drawn = false;
}

export default function inPlaceChart({ data, parentElement, setStateValue }) {
  let chart = charts.get(parentElement);
  if (!chart) {
    const div = document.createElement("div");
    div.className = "cl-in-place-chart";
    parentElement.appendChild(div);
    chart = { div, latest: 0, drawn: false, queue: Promise.resolve() };
    charts.set(parentElement, chart);
  }
  const mine = ++chart.latest;
  // one figure at a time; figures that came while another was drawn (a slider dragged) are skipped for the newest
  chart.queue = chart.queue
    .then(() => (chart.gone || mine !== chart.latest ? null : plotly(data.src)))
    .then((Plotly) => {
      if (Plotly && !chart.gone && mine === chart.latest) {
        return draw(Plotly, chart, { ...data.figure, config: data.config }, data.selectable, setStateValue);
      }
    })
    .catch((error) => {
      forget(chart);
      chart.div.textContent = String(error?.message ?? error);
    });
  return () => {
    // Streamlit calls this when the chart leaves the page, and also at once for a call whose data were replaced
    // before it started: that one must not remove the chart the newer call is drawing
    if (mine !== chart.latest || charts.get(parentElement) !== chart) return;
    chart.gone = true;
    forget(chart);
    chart.div.remove();
    charts.delete(parentElement);
  };
}
