// `goscope inspect`: what goscope knows about a Go binary or a running Go
// process — Go version, module, build settings, DWARF / PIE / stripped, where
// the runtime offsets come from, which runtime hooks exist — and, with --addr,
// symbolized addresses (process addresses for -p, ELF virtual addresses for a file);
// and what this kernel's BPF can do, with the way goscope would attach its hooks.
#include <sys/utsname.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/hex.h"
#include "loader/hooks.h"
#include "loader/kernel_features.h"
#include "symbolizer/probe_sites.h"
#include "symbolizer/symbolizer.h"

namespace goscope::cli {

namespace {

struct InspectOptions {
  pid_t pid = 0;
  std::string binary;
  std::vector<std::string> addrs;
  bool json = false;
  bool sites = false;
};

std::string hex(uint64_t v) {
  return hex_text(v);
}

Expected<uint64_t> parse_address(const std::string& s) {
  try {
    size_t used = 0;
    const uint64_t v = std::stoull(s, &used, 0);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  return make_error("bad address '" + s + "': give it in hex (0x4a2f10) or decimal");
}

const char* format_name(sym::PclntabFormat f) {
  switch (f) {
    case sym::PclntabFormat::kGo116:
      return "go1.16";
    case sym::PclntabFormat::kGo118:
      return "go1.18";
    case sym::PclntabFormat::kGo120:
      return "go1.20";
  }
  return "?";
}

// The release is shown, never compared: what goscope does here comes from the probes.
std::string kernel_release() {
  utsname u{};
  return uname(&u) == 0 ? u.release : "?";
}

struct KernelFeatureRow {
  const char* key;    // JSON
  const char* label;  // text
  const loader::FeatureAnswer& answer;
};

std::vector<KernelFeatureRow> kernel_feature_rows(const loader::KernelFeatures& f) {
  return {{"ringbuf", "ring buffer", f.ringbuf},
          {"attach_cookie", "attach cookies", f.attach_cookie},
          {"uprobe_multi", "uprobe_multi", f.uprobe_multi}};
}

nlohmann::json kernel_json() {
  const loader::KernelFeatures& f = loader::kernel_features();
  const loader::HookAttachPath path = loader::hook_attach_path();
  nlohmann::json features = nlohmann::json::object();
  for (const auto& row : kernel_feature_rows(f))
    features[row.key] = {{"supported", loader::support_name(row.answer.support)}, {"how", row.answer.how}};
  return {{"release", kernel_release()},
          {"probe_ms", double(f.probe_ns) / 1e6},
          {"features", features},
          {"hook_attach", {{"uprobe_multi", path.uprobe_multi}, {"text", path.text}}}};
}

void print_kernel() {
  const loader::KernelFeatures& f = loader::kernel_features();
  std::printf("kernel          Linux %s, BPF features probed in %.2f ms\n", kernel_release().c_str(),
              double(f.probe_ns) / 1e6);
  for (const auto& row : kernel_feature_rows(f))
    std::printf("  %-16s %s: %s\n", row.label, loader::support_name(row.answer.support),
                row.answer.how.c_str());
  std::printf("  %-16s %s\n", "hook attach", loader::hook_attach_path().text.c_str());
}

nlohmann::json frames_json(const sym::Symbolized& s) {
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& f : s.frames)
    frames.push_back({{"function", std::string(f.function)},
                      {"file", std::string(f.file)},
                      {"line", f.line},
                      {"inlined", f.inlined}});
  return frames;
}

int run_inspect(const InspectOptions& o) {
  if ((o.pid != 0) == !o.binary.empty())
    return fail(make_error("give exactly one target: -p PID or a BINARY path (see goscope inspect --help)"));

  std::optional<sym::ProcessImage> process;
  std::string path = o.binary;
  if (o.pid) {
    auto p = sym::ProcessImage::open(o.pid);
    if (!p) return fail(p.error());
    process = std::move(*p);
    path = process->exe_path();
  }
  std::vector<uint64_t> addrs;
  for (const auto& a : o.addrs) {
    auto v = parse_address(a);
    if (!v) return fail(v.error());
    addrs.push_back(*v);
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto opened = sym::GoBinary::open(path);
  if (!opened) return fail(opened.error());
  const sym::GoBinary& b = **opened;
  // The hooks on whole functions (the atomic ones are the inlined lock sites below).
  struct InspectedHook {
    std::string id;
    bool opt_in = false;  // hot path: a flag of its own
    sym::ResolvedFunction r;
  };
  std::vector<InspectedHook> hooks;
  for (const loader::HookDescriptor& d : loader::hook_table())
    if (!(d.sites & loader::kAtAtomic))
      hooks.push_back({d.name, d.set == loader::HookSet::kScheduler, sym::resolve_function(b, d.functions)});
  const auto lock_sites = sym::inlined_atomic_sites(b);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::vector<sym::Symbolized> symbolized =
      process ? sym::symbolize_process(b, *process, addrs) : b.symbolize_vaddrs(addrs);

  const auto& bi = b.build_info();
  const auto& tab = b.pclntab();
  const auto& ro = b.offsets();

  if (o.json) {
    nlohmann::json j;
    j["path"] = path;
    if (process) {
      j["pid"] = process->pid();
      j["exe"] = process->exe_name();
      j["load_bias"] = hex(process->load_bias());
    }
    j["go_version"] = bi.go_version;
    j["go_major_minor"] = bi.version.major_minor();
    j["main_path"] = bi.main_path;
    j["main_module"] = bi.main_module;
    j["module_version"] = bi.module_version;
    nlohmann::json settings = nlohmann::json::object();
    for (const auto& [k, v] : bi.settings) settings[k] = v;
    j["build_settings"] = settings;
    j["pie"] = b.is_pie();
    j["stripped"] = b.is_stripped();
    j["dwarf"] = b.has_dwarf();
    j["pclntab"] = {{"format", format_name(tab.format())}, {"address", hex(tab.vaddr())},
                    {"functions", tab.function_count()},   {"text_start", hex(tab.text_start())},
                    {"text_end", hex(tab.text_end())},     {"inline_tree", tab.has_inline_data()}};
    j["offsets_source"] = ro.source;
    nlohmann::json offs = nlohmann::json::object();
    for (const auto& f : sym::offset_fields()) {
      const auto& v = ro.offsets.*f.member;
      offs[std::string(f.key)] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    }
    j["offsets"] = offs;
    j["wait_reasons_source"] = ro.wait_reasons_source;
    j["wait_reasons"] = ro.wait_reasons;
    nlohmann::json hj = nlohmann::json::array();
    for (const auto& h : hooks) {
      nlohmann::json e = {{"hook", h.id}, {"present", !h.r.symbol.empty()}, {"opt_in", h.opt_in}};
      if (!h.r.symbol.empty()) e["function"] = h.r.symbol;
      if (h.r.sites) {
        e["entry"] = hex(h.r.sites->entry);
        e["probe"] = hex(h.r.sites->after_prologue);
        nlohmann::json rets = nlohmann::json::array();
        for (uint64_t r : h.r.sites->returns) rets.push_back(hex(r));
        e["returns"] = rets;
      }
      hj.push_back(e);
    }
    j["hooks"] = hj;
    nlohmann::json lj = nlohmann::json::array();
    for (const auto& s : lock_sites)
      lj.push_back({{"inlined", s.inlined},
                    {"caller", s.caller},
                    {"instruction", hex(s.instruction)},
                    {"probe", hex(s.after)},
                    {"kind", s.kind == sym::AtomicKind::kLockCmpxchg ? "lock cmpxchg" : "lock xadd"},
                    {"base_register", s.base_register},
                    {"displacement", s.displacement},
                    {"from", s.from}});
    j["inlined_lock_sites"] = lj;
    nlohmann::json aj = nlohmann::json::array();
    for (const auto& s : symbolized) {
      nlohmann::json e = {{"address", hex(s.address)}};
      if (s.unknown == sym::Unknown::kNone) {
        e["vaddr"] = hex(s.vaddr);
        e["frames"] = frames_json(s);
      } else {
        e["unknown"] = sym::describe(s.unknown);
      }
      aj.push_back(e);
    }
    if (!o.addrs.empty()) j["addresses"] = aj;
    j["kernel"] = kernel_json();
    j["inspect_ms"] = ms;
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }

  std::printf("binary          %s\n", path.c_str());
  if (process)
    std::printf("process         PID %d, executable %s, load bias %s\n", process->pid(),
                process->exe_name().c_str(), hex(process->load_bias()).c_str());
  std::printf("go version      %s\n", bi.go_version.c_str());
  if (bi.main_module.empty())
    std::printf("main module     none (built from files; package %s)\n", bi.main_path.c_str());
  else
    std::printf("main module     %s %s (package %s)\n", bi.main_module.c_str(), bi.module_version.c_str(),
                bi.main_path.c_str());
  std::printf("build settings ");
  for (const auto& [k, v] : bi.settings) std::printf(" %s=%s", k.c_str(), v.c_str());
  std::printf("\n");
  std::printf("pie             %s\n", b.is_pie() ? "yes" : "no");
  std::printf("stripped        %s\n", b.is_stripped() ? "yes (no .symtab)" : "no");
  std::printf("dwarf           %s\n", b.has_dwarf() ? "yes" : "no");
  std::printf("pclntab         %s format at %s, %zu functions, text %s-%s, inline tree %s\n",
              format_name(tab.format()), hex(tab.vaddr()).c_str(), tab.function_count(),
              hex(tab.text_start()).c_str(), hex(tab.text_end()).c_str(),
              tab.has_inline_data() ? "yes" : "no");
  std::printf("offsets         from %s\n", ro.source.c_str());
  for (const auto& f : sym::offset_fields()) {
    const auto& v = ro.offsets.*f.member;
    if (v)
      std::printf("  %-22s %u\n", std::string(f.key).c_str(), *v);
    else
      std::printf("  %-22s absent\n", std::string(f.key).c_str());
  }
  std::printf("wait reasons    %zu, from %s\n", ro.wait_reasons.size(), ro.wait_reasons_source.c_str());
  std::printf("runtime hooks\n");
  for (const auto& h : hooks) {
    if (h.r.symbol.empty()) {
      std::printf("  %-18s absent (not in this binary: never used, or always inlined)%s\n", h.id.c_str(),
                  h.opt_in ? " [opt-in]" : "");
      continue;
    }
    std::printf("  %-18s %s", h.id.c_str(), h.r.symbol.c_str());
    if (h.r.sites)
      std::printf(" at %s, probe %s, %zu RET", hex(h.r.sites->entry).c_str(),
                  hex(h.r.sites->after_prologue).c_str(), h.r.sites->returns.size());
    std::printf("%s\n", h.opt_in ? " [opt-in]" : "");
  }
  std::printf("inlined lock sites %zu (from %s)%s\n", lock_sites.size(),
              lock_sites.empty() ? "-" : lock_sites.front().from.c_str(),
              o.sites ? "" : "; --sites lists them");
  if (o.sites) {
    for (const auto& s : lock_sites)
      std::printf("  %s %s in %s: probe %s, state word at %s%+" PRId64 "\n", hex(s.instruction).c_str(),
                  s.kind == sym::AtomicKind::kLockCmpxchg ? "LOCK CMPXCHG" : "LOCK XADD", s.caller.c_str(),
                  hex(s.after).c_str(), s.base_register.c_str(), s.displacement);
  }
  print_kernel();
  for (const auto& s : symbolized) {
    std::printf("%s", hex(s.address).c_str());
    if (s.unknown != sym::Unknown::kNone) {
      std::printf("  ?? (%s)\n", sym::describe(s.unknown));
      continue;
    }
    if (process) std::printf(" (vaddr %s)", hex(s.vaddr).c_str());
    std::printf("\n");
    for (const auto& f : s.frames)
      std::printf("    %s%.*s %.*s:%d\n", f.inlined ? "(inlined) " : "", static_cast<int>(f.function.size()),
                  f.function.data(), static_cast<int>(f.file.size()), f.file.data(), f.line);
  }
  std::printf("inspected in   %.1f ms\n", ms);
  return kExitOk;
}

}  // namespace

void register_inspect_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* sub =
      app.add_subcommand("inspect", "What goscope knows about a Go binary or PID; symbolize addresses");
  sub->footer(
      "Examples:\n"
      "  goscope inspect ./myprog\n"
      "  goscope inspect ./myprog --addr 0x4a2f10 --addr 0x4a3000\n"
      "  sudo goscope inspect -p 1234 --json\n\n"
      "--addr takes ELF virtual addresses for a BINARY and process addresses for -p.\n"
      "A runtime hook listed as absent is not an error: the linker drops functions the\n"
      "program never uses. The kernel section says what this kernel's BPF can do, probed\n"
      "by trying it (needs root), and how goscope would attach its runtime hooks here.\n"
      "Exit code 2 when the target cannot be read or is not Go >= 1.17.");
  sub->add_option("-p,--pid", opts->pid, "a running Go process");
  sub->add_option("binary", opts->binary, "a Go executable");
  sub->add_option("--addr", opts->addrs, "address to symbolize (repeatable)")->allow_extra_args(false);
  sub->add_flag("--json", opts->json, "machine-readable output");
  sub->add_flag("--sites", opts->sites, "list the inlined sync.Mutex / RWMutex fast-path sites");
  sub->callback([opts, &exit_code] { exit_code = run_inspect(*opts); });
}

}  // namespace goscope::cli
