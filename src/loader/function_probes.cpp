#include "loader/function_probes.h"

#include <cstring>

#include "symbolizer/probe_sites.h"

namespace goscope::loader {

static_assert(std::tuple_size_v<decltype(model::ProbeHit::args)> == GS_ABI_INT_REGS,
              "model::ProbeHit::args holds gs_probe_hit.regs");

namespace {

Expected<gs_go_offsets> go_offsets_for(const sym::GoBinary& bin) {
  const auto& resolved = bin.offsets();
  if (!resolved.offsets.g_goid)
    return make_error(bin.elf().path() +
                      ": cannot find the offset of runtime.g.goid (no DWARF, and no table for " +
                      bin.build_info().go_version + ")");
  gs_go_offsets o{};
  o.g_goid = *resolved.offsets.g_goid;
  return o;
}

}  // namespace

// Each function's probe goes on the instruction after its stack-check prologue:
// runtime.morestack jumps back to the entry, so a probe there would fire twice
// when the stack grows; after the check it fires once per call.
Expected<FunctionProbePlan> plan_function_probes(const sym::GoBinary& binary,
                                                 const std::vector<std::string>& functions) {
  FunctionProbePlan plan;
  GS_TRY(plan.offsets, go_offsets_for(binary));
  for (const auto& name : functions) {
    auto sites = sym::function_probe_sites(binary, name);
    if (!sites) {
      if (!binary.function_address(name)) {
        plan.absent.push_back(name);
        continue;
      }
      return make_error("cannot place a probe in " + name + ": " + sites.error().message);
    }
    GS_TRY(uint64_t off, binary.elf().vaddr_to_file_offset(sites->after_prologue));
    plan.probes.push_back({name, sites->after_prologue, off});
  }
  return plan;
}

std::optional<model::ProbeHit> decode_probe_hit(std::span<const uint8_t> record,
                                                const FunctionProbePlan& plan) {
  gs_probe_hit ev{};
  if (record.size() < sizeof ev) return std::nullopt;
  std::memcpy(&ev, record.data(), sizeof ev);
  if (ev.hdr.type != GS_EV_PROBE_HIT || ev.cookie >= plan.probes.size()) return std::nullopt;
  const FunctionProbe& probe = plan.probes[ev.cookie];
  model::ProbeHit hit;
  hit.ktime_ns = ev.hdr.ktime_ns;
  hit.tid = ev.hdr.tid;
  hit.goid = ev.hdr.goid;
  hit.probe = static_cast<size_t>(ev.cookie);
  hit.function = probe.function;
  hit.ip = ev.ip;
  hit.return_address = ev.ret_addr;
  hit.load_bias = ev.ip - probe.vaddr;
  std::memcpy(hit.args.data(), ev.regs, sizeof ev.regs);
  return hit;
}

}  // namespace goscope::loader
