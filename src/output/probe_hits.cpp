#include "output/probe_hits.h"

#include <cinttypes>
#include <nlohmann/json.hpp>

#include "common/hex.h"

namespace goscope::output {

ProbeHitPrinter::ProbeHitPrinter(std::shared_ptr<const state::CodeInfo> code, int64_t start_ns, bool json)
    : symbols_(std::move(code), no_stacks_), start_ns_(start_ns), json_(json) {}

std::string ProbeHitPrinter::describe_caller(const model::ProbeHit& hit) const {
  // The call instruction ends at the return address: its line is that of the address - 1.
  const auto frames = symbols_.frames_at(hit.return_address - hit.load_bias, /*return_address=*/true);
  // Frames are innermost first; the last is the function the code lives in.
  const state::CodeFrame& outer = frames.back();
  if (!outer.known()) return "";
  std::string text =
      std::string(outer.function) + " (" + std::string(outer.file) + ":" + std::to_string(outer.line) + ")";
  if (frames.size() > 1) {
    text += " via inlined";
    for (size_t i = frames.size() - 1; i-- > 0;) text += " " + std::string(frames[i].function);
  }
  return text;
}

void ProbeHitPrinter::print(std::FILE* out, const model::ProbeHit& hit) const {
  const double t = (static_cast<double>(hit.ktime_ns) - static_cast<double>(start_ns_)) / 1e9;
  const std::string caller = describe_caller(hit);
  if (json_) {
    const nlohmann::json j = {
        {"t", t},
        {"tid", hit.tid},
        {"goid", hit.goid},
        {"func", std::string(hit.function)},
        {"ip", hex_text(hit.ip)},
        {"caller", hex_text(hit.return_address)},
        {"caller_func", caller},
        {"args",
         {hex_text(hit.args[0]), hex_text(hit.args[1]), hex_text(hit.args[2]), hex_text(hit.args[3])}}};
    std::fprintf(out, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::fprintf(out, "%12.6f  tid %-7u goid %-6" PRIu64 " %s  args %s %s %s\n              from %s\n", t,
               hit.tid, hit.goid, std::string(hit.function).c_str(), hex_text(hit.args[0]).c_str(),
               hex_text(hit.args[1]).c_str(), hex_text(hit.args[2]).c_str(),
               caller.empty() ? hex_text(hit.return_address).c_str() : caller.c_str());
}

}  // namespace goscope::output
