#include "symbolizer/symbolizer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

namespace goscope::sym {

const char* describe(Unknown u) {
  switch (u) {
    case Unknown::kNone:
      return "ok";
    case Unknown::kNotInExecutable:
      return "not in the executable's mappings";
    case Unknown::kNotInText:
      return "outside the Go text";
    case Unknown::kNoFunction:
      return "no function at this address";
  }
  return "unknown";
}

Expected<std::shared_ptr<const GoBinary>> GoBinary::open(const std::string& path) {
  std::shared_ptr<GoBinary> b(new GoBinary());
  GS_TRY(ElfFile elf, ElfFile::open(path));
  b->elf_ = std::make_unique<ElfFile>(std::move(elf));

  auto bi = read_buildinfo(*b->elf_);
  if (!bi) {
    if (b->elf_->has_section(".gopclntab"))
      return make_error(path +
                        " is a Go program too old for goscope (no build info: Go before 1.13); "
                        "rebuild it with Go 1.17 or newer");
    return bi.take_error();
  }
  b->build_info_ = std::move(*bi);
  const GoVersion& v = b->build_info_.version;
  if (!v.at_least(kMinGoVersion.major, kMinGoVersion.minor))
    return make_error(path + " was built by " + b->build_info_.go_version +
                      "; goscope needs Go 1.17 or newer (register ABI): rebuild it with a newer Go");

  GS_TRY(Pclntab tab, Pclntab::parse(*b->elf_));
  b->pclntab_ = std::make_unique<Pclntab>(std::move(tab));

  if (b->elf_->has_section(".debug_info") || b->elf_->has_section(".zdebug_info")) {
    auto dw = DwarfTypes::open(*b->elf_);
    if (dw) b->dwarf_ = std::make_unique<DwarfTypes>(std::move(*dw));
  }

  ResolvedOffsets& ro = b->offsets_;
  std::optional<TableOffsets> table;  // looked up only when needed
  if (b->dwarf_) {
    ro.offsets = offsets_from_dwarf(*b->dwarf_);
    ro.source = "DWARF";
  } else if ((table = offsets_from_table(v))) {
    ro.offsets = table->offsets;
    ro.source = "table " + table->go_version;
  } else {
    ro.source = "none";
  }
  std::string wsrc;
  if (auto w = read_wait_reasons(*b->elf_, b->dwarf_.get(), &wsrc)) {
    ro.wait_reasons = std::move(*w);
    ro.wait_reasons_source = wsrc;
  } else {
    if (!table) table = offsets_from_table(v);
    if (table) {
      ro.wait_reasons = table->wait_reasons;
      ro.wait_reasons_source = "table " + table->go_version;
    } else {
      ro.wait_reasons_source = "none";
    }
  }
  return std::shared_ptr<const GoBinary>(std::move(b));
}

Expected<std::shared_ptr<const GoBinary>> GoBinary::open_cached(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::from_errno("cannot open " + path, errno);
  using Key = std::tuple<dev_t, ino_t, off_t, int64_t, int64_t>;
  const Key key{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  static std::mutex mu;
  static std::map<Key, std::weak_ptr<const GoBinary>> cache;
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(key); it != cache.end()) {
      if (auto sp = it->second.lock()) return sp;
    }
  }
  GS_TRY(auto bin, open(path));
  std::lock_guard lock(mu);
  cache[key] = bin;
  return bin;
}

std::optional<uint64_t> GoBinary::function_address(std::string_view name) const {
  auto idx = pclntab_->function_named(name);
  if (!idx) return std::nullopt;
  return pclntab_->function_entry(*idx);
}

int64_t GoBinary::tls_g_offset() const {
  // x86-64 TLS variant II: the executable's block ends at the thread pointer (fs base),
  // so a variable at offset o of a block of size n (rounded up to its alignment) is at
  // fs + o - n. Go's own linker emits a block of just runtime.tlsg (8 bytes); a stripped or
  // internally linked PIE binary may have no PT_TLS at all and still uses -8(FS).
  const auto& tls = elf_->tls();
  if (!tls || tls->memsz == 0) return -8;
  const uint64_t block = (tls->memsz + tls->align - 1) / tls->align * tls->align;
  uint64_t offset = 0;
  if (auto sym = elf_->find_symbol("runtime.tlsg"); sym && sym->vaddr < tls->memsz) offset = sym->vaddr;
  return static_cast<int64_t>(offset) - static_cast<int64_t>(block);
}

std::vector<Symbolized> GoBinary::symbolize_vaddrs(std::span<const uint64_t> vaddrs) const {
  std::vector<Symbolized> out;
  out.reserve(vaddrs.size());
  for (uint64_t a : vaddrs) {
    Symbolized s;
    s.address = a;
    s.vaddr = a;
    if (a < pclntab_->text_start() || a >= pclntab_->text_end()) {
      s.unknown = Unknown::kNotInText;
    } else {
      s.frames = pclntab_->frames_at(a);
      if (s.frames.empty()) s.unknown = Unknown::kNoFunction;
    }
    out.push_back(std::move(s));
  }
  return out;
}

Expected<ProcessImage> ProcessImage::open(pid_t pid) {
  ProcessImage p;
  p.pid_ = pid;
  const std::string proc = "/proc/" + std::to_string(pid);
  p.exe_path_ = proc + "/exe";
  struct stat st;
  if (::stat(proc.c_str(), &st) != 0) return make_error("no process with PID " + std::to_string(pid));
  char buf[4096];
  const ssize_t n = readlink(p.exe_path_.c_str(), buf, sizeof buf - 1);
  if (n < 0)
    return Error::from_errno(
        "cannot read " + p.exe_path_ + " (a process of another user needs root or CAP_SYS_PTRACE)", errno);
  p.exe_name_.assign(buf, static_cast<size_t>(n));
  struct stat exe_st;
  if (::stat(p.exe_path_.c_str(), &exe_st) != 0)
    return Error::from_errno("cannot open " + p.exe_path_, errno);

  std::ifstream maps(proc + "/maps");
  if (!maps) return make_error("cannot read " + proc + "/maps (no such process, or no permission)");
  GS_TRY(ElfFile elf, ElfFile::open(p.exe_path_));
  std::string line;
  bool have_bias = false;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, dev;
    uint64_t inode = 0;
    if (!(in >> range >> perms >> offset >> dev >> inode)) continue;
    if (inode != exe_st.st_ino) continue;
    const size_t dash = range.find('-');
    const uint64_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    const uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    const uint64_t off = std::stoull(offset, nullptr, 16);
    p.exe_mappings_.push_back({start, end});
    if (have_bias) continue;
    for (const auto& seg : elf.load_segments()) {
      // The segment whose file bytes this mapping starts in (mappings are page-aligned).
      const uint64_t seg_page_off = seg.offset & ~uint64_t{0xfff};
      if (off < seg_page_off || off >= seg.offset + std::max<uint64_t>(seg.filesz, 1)) continue;
      const uint64_t vaddr_at_start = seg.vaddr - seg.offset + off;
      p.load_bias_ = start - vaddr_at_start;
      have_bias = true;
      break;
    }
  }
  if (p.exe_mappings_.empty())
    return make_error("PID " + std::to_string(pid) + ": its executable is not mapped");
  if (!elf.is_pie()) p.load_bias_ = 0;
  return p;
}

std::optional<uint64_t> ProcessImage::to_vaddr(uint64_t a) const {
  for (const auto& m : exe_mappings_)
    if (a >= m.start && a < m.end) return a - load_bias_;
  return std::nullopt;
}

std::vector<Symbolized> symbolize_process(const GoBinary& binary, const ProcessImage& process,
                                          std::span<const uint64_t> addresses) {
  std::vector<Symbolized> out;
  out.reserve(addresses.size());
  for (uint64_t a : addresses) {
    auto v = process.to_vaddr(a);
    if (!v) {
      Symbolized s;
      s.address = a;
      s.unknown = Unknown::kNotInExecutable;
      out.push_back(std::move(s));
      continue;
    }
    const uint64_t one[1] = {*v};
    auto r = binary.symbolize_vaddrs(one);
    r[0].address = a;
    out.push_back(std::move(r[0]));
  }
  return out;
}

}  // namespace goscope::sym
