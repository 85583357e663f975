// timeline.svg: per-second answered, stale and failed queries (left axis) and the upstream rate
// (right axis) against time, fault phases shaded; one panel per load stream, same scales.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "report.h"
#include "text.h"

namespace holdfast::dnsfault {
namespace {

constexpr double kWidth = 1000;
constexpr double kLeft = 72;
constexpr double kRight = 78;
constexpr double kPlotHeight = 250;
constexpr double kFirstPanelTop = 92;
constexpr double kPanelStride = kPlotHeight + 96;

constexpr const char* kAnsweredColour = "#2a9d8f";
constexpr const char* kStaleColour = "#1d4ed8";
constexpr const char* kFailedColour = "#d62828";
constexpr const char* kSentColour = "#8d99ae";
constexpr const char* kUpstreamColour = "#7b2cbf";
constexpr const char* kFaultFill = "#f4a261";

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') out += c;
    }
  }
  return out;
}

std::string num(double v) {
  return format_fixed(v, 1);
}

// Axis labels: "250", or "0.5" when the step is below 1.
std::string tick_label(double v) {
  return std::abs(v - std::round(v)) < 1e-9 ? std::to_string(std::llround(v)) : format_fixed(v, 1);
}

// A "nice" axis: the step (1, 2 or 5 x 10^k) giving at most `max_ticks` ticks up to >= value.
struct Axis {
  double step = 1;
  double top = 1;
};
Axis nice_axis(double value, int max_ticks) {
  if (value <= 0) value = 1;
  const double raw = value / max_ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  return Axis{step, std::ceil(value / step) * step};
}

struct Frame {
  double top = 0;
  double seconds = 1;
  Axis left;
  Axis right;
  double x(double t) const { return kLeft + t / seconds * (kWidth - kLeft - kRight); }
  double y(double v) const { return top + kPlotHeight - v / left.top * kPlotHeight; }
  double y_right(double v) const { return top + kPlotHeight - v / right.top * kPlotHeight; }
};

void polyline(std::ostringstream& svg, const std::vector<std::pair<double, double>>& points,
              const char* colour, double width, const char* dash) {
  if (points.empty()) return;
  svg << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"" << width << "\"";
  if (dash) svg << " stroke-dasharray=\"" << dash << "\"";
  svg << " stroke-linejoin=\"round\" points=\"";
  for (const auto& [x, y] : points) svg << num(x) << ',' << num(y) << ' ';
  svg << "\"/>\n";
}

void panel(std::ostringstream& svg, const DrillReport& r, const Frame& f, const Series& series,
           const std::string& title, bool with_upstream) {
  const double plot_right = kWidth - kRight;
  svg << "<text x=\"" << kLeft << "\" y=\"" << num(f.top - 10)
      << "\" font-size=\"14\" font-weight=\"bold\">" << escape(title) << "</text>\n";
  // Fault phases behind everything.
  for (const Phase& p : r.phases) {
    if (!p.fault) continue;
    const double x0 = f.x(static_cast<double>(p.start_ms) / 1000.0);
    const double x1 = f.x(static_cast<double>(p.end_ms) / 1000.0);
    svg << "<rect x=\"" << num(x0) << "\" y=\"" << num(f.top) << "\" width=\"" << num(x1 - x0)
        << "\" height=\"" << kPlotHeight << "\" fill=\"" << kFaultFill
        << "\" fill-opacity=\"0.28\">"
        << "<title>" << escape(p.label) << ": " << escape(p.text) << "</title></rect>\n";
    svg << "<line x1=\"" << num(x0) << "\" x2=\"" << num(x0) << "\" y1=\"" << num(f.top)
        << "\" y2=\"" << num(f.top + kPlotHeight) << "\" stroke=\"" << kFaultFill
        << "\" stroke-dasharray=\"3 3\"/>\n";
    if (x1 - x0 >= 56) {  // room for a label: as many characters as fit
      auto fits = std::min(p.label.size(), static_cast<std::size_t>((x1 - x0 - 8) / 6.5));
      while (fits > 0 && fits < p.label.size() && (p.label[fits] & 0xc0) == 0x80) --fits;  // UTF-8
      svg << "<text x=\"" << num(x0 + 4) << "\" y=\"" << num(f.top + 13)
          << "\" font-size=\"11\" fill=\"#9a4a00\">" << escape(p.label.substr(0, fits))
          << "</text>\n";
    }
  }
  // Grid and left axis.
  for (double v = 0; v <= f.left.top + 1e-9; v += f.left.step) {
    svg << "<line x1=\"" << kLeft << "\" x2=\"" << plot_right << "\" y1=\"" << num(f.y(v))
        << "\" y2=\"" << num(f.y(v)) << "\" stroke=\"#e5e5e5\"/>\n";
    svg << "<text x=\"" << kLeft - 6 << "\" y=\"" << num(f.y(v) + 4)
        << "\" font-size=\"11\" text-anchor=\"end\">" << tick_label(v) << "</text>\n";
  }
  svg << "<text transform=\"translate(18," << num(f.top + kPlotHeight / 2)
      << ") rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">queries per second</text>\n";
  if (with_upstream) {
    for (double v = 0; v <= f.right.top + 1e-9; v += f.right.step) {
      svg << "<text x=\"" << plot_right + 6 << "\" y=\"" << num(f.y_right(v) + 4)
          << "\" font-size=\"11\" fill=\"" << kUpstreamColour << "\">" << tick_label(v)
          << "</text>\n";
    }
    svg << "<text transform=\"translate(" << kWidth - 14 << "," << num(f.top + kPlotHeight / 2)
        << ") rotate(90)\" font-size=\"12\" text-anchor=\"middle\" fill=\"" << kUpstreamColour
        << "\">upstream queries per second</text>\n";
  }
  // Time axis.
  const Axis time = nice_axis(f.seconds, 12);
  for (double t = 0; t <= f.seconds + 1e-9; t += time.step) {
    svg << "<line x1=\"" << num(f.x(t)) << "\" x2=\"" << num(f.x(t)) << "\" y1=\""
        << num(f.top + kPlotHeight) << "\" y2=\"" << num(f.top + kPlotHeight + 5)
        << "\" stroke=\"#333\"/>\n";
    svg << "<text x=\"" << num(f.x(t)) << "\" y=\"" << num(f.top + kPlotHeight + 18)
        << "\" font-size=\"11\" text-anchor=\"middle\">" << tick_label(t) << "</text>\n";
  }
  svg << "<text x=\"" << num((kLeft + plot_right) / 2) << "\" y=\"" << num(f.top + kPlotHeight + 34)
      << "\" font-size=\"12\" text-anchor=\"middle\">time since start (s)</text>\n";
  svg << "<rect x=\"" << kLeft << "\" y=\"" << num(f.top) << "\" width=\""
      << num(plot_right - kLeft) << "\" height=\"" << kPlotHeight
      << "\" fill=\"none\" stroke=\"#333\"/>\n";
  // Series: one flat step per second, since each value counts a whole second's queries.
  std::vector<std::pair<double, double>> sent;
  std::vector<std::pair<double, double>> answered;
  std::vector<std::pair<double, double>> stale;
  std::vector<std::pair<double, double>> failed;
  std::vector<std::pair<double, double>> upstream;
  auto step = [&](std::vector<std::pair<double, double>>& line, std::size_t k, double y) {
    line.emplace_back(f.x(static_cast<double>(k)), y);
    line.emplace_back(f.x(static_cast<double>(k + 1)), y);
  };
  for (std::size_t k = 0; k < series.seconds.size(); ++k) {
    const SecondCounts& c = series.seconds[k];
    step(sent, k, f.y(static_cast<double>(c.sent)));
    step(answered, k, f.y(static_cast<double>(c.answered())));
    step(stale, k, f.y(static_cast<double>(c.stale)));
    step(failed, k, f.y(static_cast<double>(c.failed() + c.timeouts)));
    if (with_upstream && k < r.upstream.size() && r.upstream[k].from_target) {
      step(upstream, k, f.y_right(static_cast<double>(*r.upstream[k].from_target)));
    }
  }
  polyline(svg, sent, kSentColour, 1.2, "4 3");
  polyline(svg, answered, kAnsweredColour, 2.2, nullptr);
  polyline(svg, stale, kStaleColour, 1.8, nullptr);
  polyline(svg, failed, kFailedColour, 2.0, nullptr);
  polyline(svg, upstream, kUpstreamColour, 1.8, "7 4");
}

void legend(std::ostringstream& svg, bool with_upstream) {
  struct Item {
    const char* label;
    const char* colour;
    const char* dash;
  };
  std::vector<Item> items = {{"answered (incl. stale)", kAnsweredColour, nullptr},
                             {"stale (EDE 3/19)", kStaleColour, nullptr},
                             {"failed + timed out", kFailedColour, nullptr},
                             {"sent", kSentColour, "4 3"}};
  if (with_upstream) items.push_back({"upstream rate (right axis)", kUpstreamColour, "7 4"});
  double x = kLeft;
  const double y = 50;
  for (const Item& item : items) {
    svg << "<line x1=\"" << num(x) << "\" x2=\"" << num(x + 22) << "\" y1=\"" << y << "\" y2=\""
        << y << "\" stroke=\"" << item.colour << "\" stroke-width=\"2.5\"";
    if (item.dash) svg << " stroke-dasharray=\"" << item.dash << "\"";
    svg << "/>\n<text x=\"" << num(x + 27) << "\" y=\"" << y + 4 << "\" font-size=\"12\">"
        << item.label << "</text>\n";
    x += 40 + 6.6 * static_cast<double>(std::string_view(item.label).size());
  }
  svg << "<rect x=\"" << num(x) << "\" y=\"" << y - 7 << "\" width=\"22\" height=\"14\" fill=\""
      << kFaultFill << "\" fill-opacity=\"0.28\"/>\n<text x=\"" << num(x + 27) << "\" y=\"" << y + 4
      << "\" font-size=\"12\">fault phase</text>\n";
}

}  // namespace

std::string timeline_svg(const DrillReport& r) {
  const std::size_t panels = r.baseline ? 2 : 1;
  Frame f;
  f.seconds = std::max<double>(1.0, static_cast<double>(r.target.seconds.size()));
  double peak = 0;
  for (const Series* s : {&r.target, r.baseline ? &*r.baseline : nullptr}) {
    if (!s) continue;
    for (const SecondCounts& c : s->seconds) peak = std::max(peak, static_cast<double>(c.sent));
  }
  double upstream_peak = 0;
  for (const UpstreamSecond& u : r.upstream) {
    if (u.from_target) upstream_peak = std::max(upstream_peak, static_cast<double>(*u.from_target));
  }
  f.left = nice_axis(peak * 1.05, 6);
  f.right = nice_axis(upstream_peak * 1.05, 6);
  const bool with_upstream = !r.upstream.empty();
  const double height = kFirstPanelTop + static_cast<double>(panels) * kPanelStride - 40;

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\""
      << num(height) << "\" viewBox=\"0 0 " << kWidth << ' ' << num(height)
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string title = cat({"dnsfault drill: ", format_fixed(r.config.rate_qps, 0),
                           " queries/s for ", format_duration_ms(r.config.duration_ms)});
  if (!r.config.schedule.empty()) title += cat({", schedule ", r.config.schedule});
  svg << "<text x=\"" << kLeft << "\" y=\"26\" font-size=\"17\" font-weight=\"bold\">"
      << escape(title) << "</text>\n";
  legend(svg, with_upstream);
  f.top = kFirstPanelTop;
  panel(svg, r, f, r.target,
        cat({"With Holdfast: ", r.target.address, " — availability ",
             format_fixed(r.target_summary.availability_pct, 1), " %"}),
        with_upstream);
  if (r.baseline) {
    f.top += kPanelStride;
    panel(svg, r, f, *r.baseline,
          cat({"Without Holdfast (baseline): ", r.baseline->address, " — availability ",
               format_fixed(r.baseline_summary->availability_pct, 1), " %"}),
          false);
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace holdfast::dnsfault
