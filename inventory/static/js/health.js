// Health charts on the asset page, drawn with uPlot (static/vendor/uplot).
// The page carries everything as data-* attributes (the CSP forbids inline script);
// the data comes from GET <data-url>?range=24h|7d|30d|1y[&if=<ifIndex>].
// Device-reported names never reach innerHTML: labels are fixed, messages use textContent.
(() => {
  "use strict";

  const COLOURS = {
    cpu_pct: "#0b5394",
    mem_pct: "#1e7d32",
    storage_pct: "#b26a00",
    battery_pct: "#6a1b9a",
    toner_pct: "#00838f",
    availability_pct: "#5b6474",
    in_bps: "#0b5394",
    out_bps: "#1e7d32",
    in_peak_bps: "#7fa6cf",
    out_peak_bps: "#8fc79a",
  };
  const DASHED = new Set(["in_peak_bps", "out_peak_bps", "availability_pct"]);
  const HEIGHT = 220;

  function formatBits(value) {
    if (value == null) return "—";
    const units = [["Tbit/s", 1e12], ["Gbit/s", 1e9], ["Mbit/s", 1e6], ["kbit/s", 1e3]];
    for (const [unit, size] of units) {
      if (Math.abs(value) >= size) return `${+(value / size).toPrecision(3)} ${unit}`;
    }
    return `${Math.round(value)} bit/s`;
  }

  function formatPct(value) {
    return value == null ? "—" : `${+value.toFixed(1)}%`;
  }

  // Dates as the page's language writes them in India, in the district's time zone.
  function dateFormats(tz) {
    const locale = `${document.documentElement.lang || "en"}-IN`;
    const make = (options) => {
      try {
        return new Intl.DateTimeFormat(locale, { timeZone: tz || undefined, ...options });
      } catch (error) {
        return new Intl.DateTimeFormat(undefined, options);
      }
    };
    return {
      time: make({ hour: "2-digit", minute: "2-digit", hour12: false }),
      day: make({ day: "numeric", month: "short" }),
      full: make({ day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hour12: false }),
    };
  }

  class HealthChart {
    constructor(root, element, kind) {
      this.root = root;
      this.element = element;
      this.kind = kind;
      this.plot = null;
      this.request = 0;
      this.labels = JSON.parse(root.dataset.labels || "{}");
    }

    url(range, ifIndex) {
      const params = new URLSearchParams({ range });
      if (this.kind === "interface") params.set("if", ifIndex);
      return `${this.root.dataset.url}?${params}`;
    }

    message(text) {
      this.destroy();
      const p = document.createElement("p");
      p.className = "chart-message";
      p.textContent = text;
      this.element.replaceChildren(p);
    }

    destroy() {
      if (this.plot) {
        this.plot.destroy();
        this.plot = null;
      }
    }

    async load(range, ifIndex) {
      const ticket = ++this.request;
      this.element.classList.add("loading");
      try {
        const response = await fetch(this.url(range, ifIndex), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        if (ticket === this.request) this.draw(data);
      } catch (error) {
        if (ticket === this.request) this.message(this.root.dataset.failed || "");
      } finally {
        if (ticket === this.request) this.element.classList.remove("loading");
      }
    }

    draw(data) {
      if (!data.t.length || !data.series.length) {
        this.message(this.root.dataset.empty || "");
        return;
      }
      const format = this.kind === "interface" ? formatBits : formatPct;
      const tz = data.tz;
      const dates = dateFormats(tz);
      const xTicks = (u, splits) => {
        const span = (u.scales.x.max || 0) - (u.scales.x.min || 0);
        const style = span > 2 * 86400 ? dates.day : dates.time;
        return splits.map((ts) => style.format(new Date(ts * 1e3)));
      };
      const options = {
        width: this.element.clientWidth || 600,
        height: HEIGHT,
        tzDate: tz ? (ts) => uPlot.tzDate(new Date(ts * 1e3), tz) : undefined,
        scales: this.kind === "device" ? { y: { range: [0, 100] } } : {},
        series: [
          { value: (u, ts) => (ts == null ? "—" : dates.full.format(new Date(ts * 1e3))) },
          ...data.series.map((s) => ({
            label: this.labels[s.key] || s.key,
            stroke: COLOURS[s.key] || "#374151",
            width: 1.5,
            dash: DASHED.has(s.key) ? [5, 4] : undefined,
            value: (u, v) => format(v),
          })),
        ],
        axes: [
          { values: xTicks },
          { size: this.kind === "interface" ? 80 : 50, values: (u, ticks) => ticks.map(format) },
        ],
      };
      this.destroy();
      this.element.replaceChildren();
      this.plot = new uPlot(options, [data.t, ...data.series.map((s) => s.values)], this.element);
    }

    resize() {
      if (this.plot) this.plot.setSize({ width: this.element.clientWidth, height: HEIGHT });
    }
  }

  function setUp(root) {
    const device = root.querySelector("[data-chart=device]");
    const traffic = root.querySelector("[data-chart=interface]");
    const select = root.querySelector("select[data-chart-interface]");
    const charts = [];
    const state = { range: "24h" };
    if (device) charts.push(new HealthChart(root, device, "device"));
    const trafficChart = traffic && select ? new HealthChart(root, traffic, "interface") : null;
    if (trafficChart) charts.push(trafficChart);

    const loadAll = () => charts.forEach((c) => c.load(state.range, select && select.value));

    root.querySelectorAll("button[data-range]").forEach((button) => {
      button.addEventListener("click", () => {
        state.range = button.dataset.range;
        root.querySelectorAll("button[data-range]").forEach((b) => {
          b.setAttribute("aria-pressed", String(b === button));
        });
        loadAll();
      });
    });
    if (trafficChart) {
      select.addEventListener("change", () => trafficChart.load(state.range, select.value));
      document.querySelectorAll("button[data-chart-if]").forEach((button) => {
        button.addEventListener("click", () => {
          select.value = button.dataset.chartIf;
          trafficChart.load(state.range, select.value);
          traffic.scrollIntoView({ behavior: "smooth", block: "center" });
        });
      });
    }
    let pending = null;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(() => charts.forEach((c) => c.resize()), 150);
    });
    loadAll();
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll("[data-health-charts]").forEach(setUp);
  });
})();
