/* 学时达标统计: the bar chart of completion rates per sub-organisation and the trend
   over years. Data comes from the data-chart attribute of #stats-bar (no inline script). */
(function () {
  "use strict";
  var barEl = document.getElementById("stats-bar");
  if (!barEl || typeof echarts === "undefined") { return; }
  var data;
  try { data = JSON.parse(barEl.getAttribute("data-chart")); } catch (e) { return; }
  var bars = data.bars || [];
  var bar = echarts.init(barEl);
  bar.setOption({
    title: { text: data.title, left: "center", textStyle: { fontSize: 14 } },
    tooltip: {
      trigger: "axis",
      formatter: function (items) {
        var b = bars[items[0].dataIndex];
        return b.name + "<br>达标率：" + b.rate + "%<br>达标 " + b.passed + " / " + b.persons + " 人";
      }
    },
    grid: { left: 50, right: 20, bottom: 80, top: 40 },
    xAxis: { type: "category", data: bars.map(function (b) { return b.name; }),
             axisLabel: { interval: 0, rotate: bars.length > 6 ? 40 : 0 } },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: [{ type: "bar", data: bars.map(function (b) { return b.rate; }), itemStyle: { color: "#2c7be5" },
               label: { show: bars.length <= 20, position: "top", formatter: "{c}%" } }]
  });
  bar.on("click", function (p) {
    var b = bars[p.dataIndex];
    if (b && b.url) { window.location.href = b.url; }
  });
  var trendEl = document.getElementById("stats-trend");
  var trend = data.trend || [];
  if (trendEl) {
    var line = echarts.init(trendEl);
    line.setOption({
      title: { text: "历年达标率", left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis", formatter: function (items) {
        var t = trend[items[0].dataIndex];
        return t.year + " 年<br>达标率：" + t.rate + "%<br>达标 " + t.passed + " / " + t.persons + " 人";
      } },
      grid: { left: 50, right: 20, bottom: 40, top: 40 },
      xAxis: { type: "category", data: trend.map(function (t) { return String(t.year); }) },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ type: "line", data: trend.map(function (t) { return t.rate; }), smooth: false,
                 label: { show: true, formatter: "{c}%" } }]
    });
    window.addEventListener("resize", function () { line.resize(); });
  }
  window.addEventListener("resize", function () { bar.resize(); });
})();
