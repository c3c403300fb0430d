#include "landing_page.h"

#include <cmath>
#include <string_view>

#include "version.h"

namespace esim {
namespace {

std::string Ago(double seconds) {
  if (seconds < 0) seconds = 0;
  const auto whole = static_cast<long long>(std::llround(seconds));
  if (whole < 120) return std::to_string(whole) + " s ago";
  if (whole < 7200) return std::to_string(whole / 60) + " min ago";
  if (whole < 172800) return std::to_string(whole / 3600) + " h ago";
  return std::to_string(whole / 86400) + " d ago";
}

std::string GiB(double bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buffer;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
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
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderLandingPage(const StateSnapshot& snapshot, const std::string& telemetry_path,
                              double now) {
  std::string html;
  html += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>esim_exporter</title>\n";
  html +=
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
      ".ok{color:#080}.fail{color:#b00}</style></head><body>\n";
  html += "<h1>esim_exporter</h1>\n<p>Prometheus exporter for eSIMfly eSIM fleets, version ";
  html += HtmlEscape(kVersion);
  html += " (";
  html += HtmlEscape(kRevision);
  html += ").</p>\n<p><a href=\"" + HtmlEscape(telemetry_path) + "\">Metrics</a></p>\n";
  html += "<h2>Monitored eSIMs (" + std::to_string(snapshot.esims.size()) + ")</h2>\n";
  html +=
      "<table><tr><th>Name</th><th>ICCID</th><th>eSIM id</th><th>Status</th><th>Used</th>"
      "<th>Total</th><th>Last poll</th><th>Result</th><th>Last success</th></tr>\n";
  for (const auto& record : snapshot.esims) {
    const EsimStatus* status = record->status ? &*record->status : nullptr;
    html +=
        "<tr><td>" + HtmlEscape(record->config.name) + "</td><td>" + HtmlEscape(record->Iccid()) +
        "</td><td>" + (record->EsimId() ? std::to_string(*record->EsimId()) : "") + "</td><td>" +
        (status ? HtmlEscape(status->status) : "") + "</td><td>" +
        (status ? GiB(status->used_bytes) : "") + "</td><td>" +
        (status ? (status->total_bytes ? GiB(*status->total_bytes) : "unlimited") : "") +
        "</td><td>" + (record->polled ? Ago(now - record->last_poll_time) : "not yet") + "</td>";
    if (!record->polled) {
      html += "<td>pending</td>";
    } else if (record->last_poll_ok) {
      html += "<td class=\"ok\">OK</td>";
    } else {
      html += "<td class=\"fail\">" + HtmlEscape(record->last_code);
      if (!record->last_message.empty()) html += ": " + HtmlEscape(record->last_message);
      html += "</td>";
    }
    html += "<td>" +
            (record->last_success_time > 0 ? Ago(now - record->last_success_time) : "never") +
            "</td></tr>\n";
  }
  html += "</table>\n</body></html>\n";
  return html;
}

}  // namespace esim
