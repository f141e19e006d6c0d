#include "symbolizer/pclntab.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

namespace goscope::sym {

namespace {

constexpr uint32_t kMagic116 = 0xfffffffa;
constexpr uint32_t kMagic118 = 0xfffffff0;
constexpr uint32_t kMagic120 = 0xfffffff1;
constexpr uint32_t kPcdataInlTreeIndex = 2;
constexpr uint32_t kFuncdataInlTree = 3;
constexpr int kMaxInlineDepth = 100;

uint32_t load32(std::span<const uint8_t> d, uint64_t off) {
  if (off > d.size() || d.size() - off < 4) return 0;
  uint32_t v;
  std::memcpy(&v, d.data() + off, 4);
  return v;
}

uint64_t load64(std::span<const uint8_t> d, uint64_t off) {
  if (off > d.size() || d.size() - off < 8) return 0;
  uint64_t v;
  std::memcpy(&v, d.data() + off, 8);
  return v;
}

bool valid_header(std::span<const uint8_t> d) {
  if (d.size() < 8 + 8 * 8) return false;
  const uint32_t magic = load32(d, 0);
  if (magic != kMagic116 && magic != kMagic118 && magic != kMagic120) return false;
  return d[4] == 0 && d[5] == 0 && d[6] == 1 /* PC quantum on amd64 */ && d[7] == 8 /* pointer size */;
}

// The table: its section, else (no section headers) its header magic in a read-only segment.
std::optional<std::pair<uint64_t, std::span<const uint8_t>>> locate(const ElfFile& elf) {
  for (const char* name : {".gopclntab", ".data.rel.ro.gopclntab"}) {
    auto s = elf.find_section(name);
    // A NOBITS section (only in a corrupt binary here) has no bytes in the file.
    if (!s || s->size == 0 || s->type == SHT_NOBITS) continue;
    auto d = elf.bytes().subspan(s->offset, s->size);
    if (valid_header(d)) return std::make_pair(s->addr, d);
  }
  for (const auto& seg : elf.load_segments()) {
    if (seg.flags & 0x1 /* PF_X */) continue;
    auto b = elf.vaddr_bytes(seg.vaddr, seg.filesz);
    for (uint64_t o = (8 - seg.vaddr % 8) % 8; o + 72 <= b.size(); o += 8) {
      if (b[o] != 0xf0 && b[o] != 0xf1 && b[o] != 0xfa) continue;
      auto d = b.subspan(o);
      if (!valid_header(d)) continue;
      const uint64_t nfunc = load64(d, 8);
      if (nfunc == 0 || nfunc > d.size()) continue;
      return std::make_pair(seg.vaddr + o, d);
    }
  }
  return std::nullopt;
}

// The runtime's moduledata: it starts with a pointer to the pclntab header, then the
// funcnametab slice (whose data pointer is checked too). Pointers go through
// relocations, so a PIE (whose file holds zeros there) is found as well.
std::optional<uint64_t> find_moduledata(const ElfFile& elf, uint64_t pclntab, uint64_t funcname_off) {
  for (const auto& seg : elf.load_segments()) {
    if (!(seg.flags & 0x2 /* PF_W */)) continue;
    auto b = elf.vaddr_bytes(seg.vaddr, seg.filesz);
    for (uint64_t o = (8 - seg.vaddr % 8) % 8; o + 8 * 48 <= b.size(); o += 8) {
      const uint64_t v = load64(b, o);
      if (v != pclntab && !(elf.is_pie() && v == 0)) continue;
      const uint64_t a = seg.vaddr + o;
      if (elf.read_pointer(a) != pclntab || elf.read_pointer(a + 8) != pclntab + funcname_off) continue;
      return a;
    }
  }
  return std::nullopt;
}

}  // namespace

uint32_t Pclntab::u32(uint64_t off) const {
  return load32(data_, off);
}

Expected<Pclntab> Pclntab::parse(const ElfFile& elf) {
  auto where = locate(elf);
  if (!where)
    return make_error(elf.path() + " has no Go symbol table (.gopclntab): not a Go program, or corrupt");
  Pclntab t;
  t.elf_ = &elf;
  t.vaddr_ = where->first;
  t.data_ = where->second;
  const auto& d = t.data_;
  const uint32_t magic = load32(d, 0);
  t.format_ = magic == kMagic116 ? PclntabFormat::kGo116
                                 : (magic == kMagic118 ? PclntabFormat::kGo118 : PclntabFormat::kGo120);
  const uint64_t nfunc = load64(d, 8);
  auto word = [&](int i) { return load64(d, 8 + 8 * static_cast<uint64_t>(i)); };
  const auto corrupt = [&](const char* what) {
    return make_error(elf.path() + ": .gopclntab is corrupt (" + what + ")");
  };
  const bool old = t.format_ == PclntabFormat::kGo116;
  if (old) {
    t.funcname_ = word(2);
    t.cutab_ = word(3);
    t.filetab_ = word(4);
    t.pctab_ = word(5);
    t.funcdata_ = word(6);
  } else {
    // textStart (1.18–1.25) is relocated in PIE: read it through the relocation table.
    // Go 1.26 no longer stores it (the field is 0): moduledata.text is the base then.
    t.text_start_ = elf.read_pointer(t.vaddr_ + 8 + 2 * 8).value_or(0);
    t.funcname_ = word(3);
    t.cutab_ = word(4);
    t.filetab_ = word(5);
    t.pctab_ = word(6);
    t.funcdata_ = word(7);
  }
  for (uint64_t off : {t.funcname_, t.cutab_, t.filetab_, t.pctab_, t.funcdata_})
    if (off == 0 || off >= d.size()) return corrupt("table offset out of range");
  const uint64_t field = old ? 8 : 4;
  if (nfunc > (d.size() - t.funcdata_) / (2 * field)) return corrupt("function count out of range");

  if (!old) {
    // Funcdata are offsets from go:func.* (moduledata.gofunc). Both it and the text base
    // come from symbols when there are some, else from the runtime's moduledata.
    for (const char* name : {"go:func.*", "go.func.*"}) {
      if (auto sym = elf.find_symbol(name)) {
        t.gofunc_ = sym->vaddr;
        break;
      }
    }
    if (t.text_start_ == 0) {
      if (auto sym = elf.find_symbol("runtime.text")) t.text_start_ = sym->vaddr;
    }
    if (t.text_start_ == 0 || t.gofunc_ == 0) {
      if (auto md = find_moduledata(elf, t.vaddr_, t.funcname_)) {
        const uint64_t gofunc_word = t.format_ == PclntabFormat::kGo118 ? 38 : 40;
        constexpr uint64_t kTextWord = 22;
        if (t.text_start_ == 0) t.text_start_ = elf.read_pointer(*md + 8 * kTextWord).value_or(0);
        if (t.gofunc_ == 0) t.gofunc_ = elf.read_pointer(*md + 8 * gofunc_word).value_or(0);
      }
    }
    if (t.text_start_ == 0) {
      if (auto text = elf.find_section(".text")) t.text_start_ = text->addr;
    }
    if (t.text_start_ == 0) return corrupt("no text base: neither in the header nor in moduledata");
  }

  t.funcs_.reserve(nfunc);
  const uint64_t ft = t.funcdata_;
  for (uint64_t i = 0; i < nfunc; i++) {
    if (old) {
      auto pc = elf.read_pointer(t.vaddr_ + ft + 16 * i);
      t.funcs_.push_back({pc.value_or(0), static_cast<uint32_t>(load64(d, ft + 16 * i + 8))});
    } else {
      t.funcs_.push_back({t.text_start_ + load32(d, ft + 8 * i), load32(d, ft + 8 * i + 4)});
    }
  }
  if (old) {
    t.end_pc_ = elf.read_pointer(t.vaddr_ + ft + 16 * nfunc).value_or(0);
    if (!t.funcs_.empty()) t.text_start_ = t.funcs_.front().entry;
  } else {
    t.end_pc_ = t.text_start_ + load32(d, ft + 8 * nfunc);
  }
  for (size_t i = 1; i < t.funcs_.size(); i++)
    if (t.funcs_[i].entry < t.funcs_[i - 1].entry) return corrupt("function table not sorted");

  return t;
}

std::optional<size_t> Pclntab::function_at(uint64_t pc) const {
  if (funcs_.empty() || pc < funcs_.front().entry || pc >= end_pc_) return std::nullopt;
  auto it = std::upper_bound(funcs_.begin(), funcs_.end(), pc,
                             [](uint64_t v, const FuncEntry& e) { return v < e.entry; });
  return static_cast<size_t>(it - funcs_.begin()) - 1;
}

uint64_t Pclntab::function_end(size_t idx) const {
  return idx + 1 < funcs_.size() ? funcs_[idx + 1].entry : end_pc_;
}

std::optional<size_t> Pclntab::function_named(std::string_view name) const {
  std::call_once(*by_name_once_, [this] {
    by_name_.reserve(funcs_.size());
    for (size_t i = 0; i < funcs_.size(); i++) by_name_.emplace(function_name(i), i);
  });
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::string_view Pclntab::cstring(uint64_t off) const {
  if (off >= data_.size()) return {};
  const auto* p = reinterpret_cast<const char*>(data_.data() + off);
  const size_t max = data_.size() - off;
  return {p, strnlen(p, max)};
}

namespace {

// Where the fields of the runtime's _func record are, per pclntab format
// (runtime/runtime2.go of each release): 1.16 has an 8-byte entry pointer
// first, 1.18 a 4-byte entry offset, 1.20 adds startLine before nfuncdata.
struct FuncLayout {
  uint32_t size, name_off, pcfile, pcln, npcdata, cu_offset, nfuncdata, args, pcsp, flag;
};
constexpr FuncLayout kGo116Func{44, 8, 24, 28, 32, 36, 43, 12, 20, 41};
constexpr FuncLayout kGo118Func{40, 4, 20, 24, 28, 32, 39, 8, 16, 37};
constexpr FuncLayout kGo120Func{44, 4, 20, 24, 28, 32, 43, 8, 16, 41};

}  // namespace

std::optional<Pclntab::FuncRecord> Pclntab::record(size_t idx) const {
  if (idx >= funcs_.size()) return std::nullopt;
  const FuncLayout& l = format_ == PclntabFormat::kGo116   ? kGo116Func
                        : format_ == PclntabFormat::kGo118 ? kGo118Func
                                                           : kGo120Func;
  const uint64_t at = funcdata_ + funcs_[idx].func_off;
  if (at + l.size > data_.size()) return std::nullopt;
  FuncRecord f;
  f.entry = funcs_[idx].entry;
  f.name_off = static_cast<int32_t>(u32(at + l.name_off));
  f.pcfile = u32(at + l.pcfile);
  f.pcln = u32(at + l.pcln);
  f.npcdata = u32(at + l.npcdata);
  f.cu_offset = u32(at + l.cu_offset);
  f.args = static_cast<int32_t>(u32(at + l.args));
  f.pcsp = u32(at + l.pcsp);
  f.flag = data_[at + l.flag];
  f.nfuncdata = data_[at + l.nfuncdata];
  f.pcdata_at = at + l.size;
  return f;
}

std::string_view Pclntab::function_name(size_t idx) const {
  auto f = record(idx);
  if (!f || f->name_off < 0) return {};
  return cstring(funcname_ + static_cast<uint32_t>(f->name_off));
}

Pclntab::DecodedTable Pclntab::decode_table(uint32_t off, uint64_t entry) const {
  DecodedTable t;
  uint64_t p = pctab_ + off;
  uint64_t pc = entry;
  int32_t val = -1;
  auto varint = [&](uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (p >= data_.size()) return false;
      const uint8_t b = data_[p++];
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  // A corrupt table could claim far more runs than a function has bytes: bound it.
  constexpr size_t kMaxRuns = 1 << 20;
  for (bool first = true; t.ends.size() < kMaxRuns; first = false) {
    uint64_t uvdelta = 0, pcdelta = 0;
    if (!varint(uvdelta) || (uvdelta == 0 && !first)) break;
    const int32_t vdelta =
        (uvdelta & 1) ? static_cast<int32_t>(~(uvdelta >> 1)) : static_cast<int32_t>(uvdelta >> 1);
    if (!varint(pcdelta)) break;
    pc += pcdelta;  // PC quantum is 1 on amd64
    val += vdelta;
    if (pc - entry > UINT32_MAX) break;
    t.ends.push_back(static_cast<uint32_t>(pc - entry));
    t.values.push_back(val);
  }
  return t;
}

int32_t Pclntab::pcvalue(const FuncRecord& f, uint32_t off, uint64_t target) const {
  if (off == 0 || target < f.entry) return -1;
  const uint64_t rel = target - f.entry;
  std::lock_guard lock(table_cache_->mu);
  auto it = table_cache_->tables.find(off);
  if (it == table_cache_->tables.end()) {
    constexpr size_t kMaxCachedRuns = 8u << 20;  // ~64 MB at most
    DecodedTable t = decode_table(off, f.entry);
    if (table_cache_->runs + t.ends.size() > kMaxCachedRuns) {
      table_cache_->tables.clear();
      table_cache_->runs = 0;
    }
    table_cache_->runs += t.ends.size();
    it = table_cache_->tables.emplace(off, std::move(t)).first;
  }
  const auto& t = it->second;
  auto e = std::upper_bound(t.ends.begin(), t.ends.end(), rel);
  if (e == t.ends.end()) return -1;
  return t.values[static_cast<size_t>(e - t.ends.begin())];
}

uint32_t Pclntab::pcdata_off(const FuncRecord& f, uint32_t table) const {
  if (table >= f.npcdata) return 0;
  return u32(f.pcdata_at + 4 * table);
}

std::optional<uint64_t> Pclntab::funcdata(const FuncRecord& f, uint32_t index) const {
  if (index >= f.nfuncdata) return std::nullopt;
  const uint64_t fd_at = f.pcdata_at + 4ull * f.npcdata;
  if (format_ == PclntabFormat::kGo116) {
    uint64_t vaddr = vaddr_ + fd_at;
    vaddr = (vaddr + 7) & ~uint64_t{7};
    auto p = elf_->read_pointer(vaddr + 8ull * index);
    if (!p || *p == 0) return std::nullopt;
    return *p;
  }
  if (!gofunc_) return std::nullopt;
  const uint32_t off = u32(fd_at + 4ull * index);
  if (off == 0xffffffffu) return std::nullopt;
  return gofunc_ + off;
}

std::optional<uint64_t> Pclntab::inline_tree(const FuncRecord& f) const {
  return funcdata(f, kFuncdataInlTree);
}

std::optional<int32_t> Pclntab::sp_delta(size_t idx, uint64_t pc) const {
  auto f = record(idx);
  if (!f || f->pcsp == 0) return std::nullopt;
  const int32_t v = pcvalue(*f, f->pcsp, pc);
  if (v < 0 || v % 8 != 0) return std::nullopt;
  return v;
}

int32_t Pclntab::pcdata_value(size_t idx, uint32_t table, uint64_t pc) const {
  auto f = record(idx);
  if (!f) return -1;
  return pcvalue(*f, pcdata_off(*f, table), pc);
}

std::optional<uint64_t> Pclntab::funcdata_vaddr(size_t idx, uint32_t index) const {
  auto f = record(idx);
  if (!f) return std::nullopt;
  return funcdata(*f, index);
}

int32_t Pclntab::args_size(size_t idx) const {
  auto f = record(idx);
  return f ? f->args : kArgsSizeUnknown;
}

uint8_t Pclntab::flags(size_t idx) const {
  auto f = record(idx);
  return f ? f->flag : 0;
}

std::span<const uint8_t> StackMap::bitmap(int32_t index) const {
  if (index < 0 || index >= n || nbit <= 0) return {};
  const uint64_t per = (static_cast<uint64_t>(nbit) + 7) / 8;
  const uint64_t at = per * static_cast<uint64_t>(index);
  if (at + per > bytes.size()) return {};
  return bytes.subspan(at, per);
}

std::optional<StackMap> Pclntab::stack_map(size_t idx, uint32_t which) const {
  const auto at = funcdata_vaddr(idx, which);
  if (!at) return std::nullopt;
  const auto header = elf_->vaddr_bytes(*at, 8);
  if (header.size() != 8) return std::nullopt;
  StackMap m;
  m.n = static_cast<int32_t>(load32(header, 0));
  m.nbit = static_cast<int32_t>(load32(header, 4));
  if (m.n <= 0 || m.nbit < 0) return m;
  const uint64_t size = static_cast<uint64_t>(m.n) * ((static_cast<uint64_t>(m.nbit) + 7) / 8);
  m.bytes = elf_->vaddr_bytes(*at + 8, size);
  if (m.bytes.size() != size) return std::nullopt;  // corrupt: past the end of its section
  return m;
}

std::vector<StackObjectRecord> Pclntab::stack_objects(size_t idx) const {
  std::vector<StackObjectRecord> out;
  const auto at = funcdata_vaddr(idx, kFuncdataStackObjects);
  if (!at) return out;
  const uint64_t n = elf_->read_pointer(*at).value_or(0);  // a uintptr count, then the records
  constexpr uint64_t kRecord = 16;  // {off, size, ptrdata int32; gcdataoff uint32}, Go 1.18+
  if (n == 0 || n > 4096) return out;
  const auto b = elf_->vaddr_bytes(*at + 8, n * kRecord);
  if (b.size() != n * kRecord) return out;
  for (uint64_t i = 0; i < n; i++)
    out.push_back(
        {static_cast<int32_t>(load32(b, i * kRecord)), static_cast<int32_t>(load32(b, i * kRecord + 4))});
  return out;
}

std::optional<Pclntab::InlEntry> Pclntab::inline_entry(uint64_t tree, int32_t index) const {
  if (index < 0) return std::nullopt;
  if (format_ == PclntabFormat::kGo120) {
    auto b = elf_->vaddr_bytes(tree + 16ull * static_cast<uint32_t>(index), 16);
    if (b.size() != 16) return std::nullopt;
    return InlEntry{static_cast<int32_t>(load32(b, 4)), static_cast<int32_t>(load32(b, 8))};
  }
  auto b = elf_->vaddr_bytes(tree + 20ull * static_cast<uint32_t>(index), 20);
  if (b.size() != 20) return std::nullopt;
  return InlEntry{static_cast<int32_t>(load32(b, 12)), static_cast<int32_t>(load32(b, 16))};
}

std::string_view Pclntab::file_name(const FuncRecord& f, int32_t fileno) const {
  if (fileno < 0) return {};
  const uint32_t off =
      u32(cutab_ + 4ull * (static_cast<uint64_t>(f.cu_offset) + static_cast<uint32_t>(fileno)));
  if (off == 0xffffffffu) return {};
  return cstring(filetab_ + off);
}

std::optional<std::pair<std::string_view, int>> Pclntab::file_line(size_t idx, uint64_t pc) const {
  auto f = record(idx);
  if (!f) return std::nullopt;
  const int32_t fileno = pcvalue(*f, f->pcfile, pc);
  const int32_t line = pcvalue(*f, f->pcln, pc);
  if (fileno < 0 || line < 0) return std::nullopt;
  return std::make_pair(file_name(*f, fileno), static_cast<int>(line));
}

std::vector<Frame> Pclntab::frames_at(uint64_t pc) const {
  std::vector<Frame> out;
  auto idx = function_at(pc);
  if (!idx) return out;
  auto f = record(*idx);
  if (!f) return out;
  const std::optional<uint64_t> tree = inline_tree(*f);
  const uint32_t inl_table = pcdata_off(*f, kPcdataInlTreeIndex);
  uint64_t cur = pc;
  for (int depth = 0; depth < kMaxInlineDepth; depth++) {
    Frame fr;
    const int32_t fileno = pcvalue(*f, f->pcfile, cur);
    const int32_t line = pcvalue(*f, f->pcln, cur);
    fr.file = file_name(*f, fileno);
    fr.line = line < 0 ? 0 : line;
    if (tree && inl_table) {
      const int32_t ix = pcvalue(*f, inl_table, cur);
      if (auto e = inline_entry(*tree, ix)) {
        fr.function = e->name_off >= 0 ? cstring(funcname_ + static_cast<uint32_t>(e->name_off)) : "";
        fr.inlined = true;
        out.push_back(fr);
        cur = f->entry + static_cast<uint32_t>(e->parent_pc);
        continue;
      }
    }
    fr.function = f->name_off >= 0 ? cstring(funcname_ + static_cast<uint32_t>(f->name_off)) : "";
    out.push_back(fr);
    break;
  }
  return out;
}

std::vector<InlinedRange> Pclntab::inlined_ranges(size_t idx) const {
  std::vector<InlinedRange> out;
  auto f = record(idx);
  if (!f) return out;
  auto tree = inline_tree(*f);
  const uint32_t off = pcdata_off(*f, kPcdataInlTreeIndex);
  if (!tree || !off) return out;
  // Walk the pcvalue table once: each run of equal values is one range.
  uint64_t p = pctab_ + off;
  uint64_t pc = f->entry;
  int32_t val = -1;
  const uint64_t end = function_end(idx);
  auto varint = [&](uint64_t& o) {
    o = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (p >= data_.size()) return false;
      const uint8_t b = data_[p++];
      o |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  for (bool first = true; pc < end; first = false) {
    uint64_t uvdelta = 0, pcdelta = 0;
    if (!varint(uvdelta) || (uvdelta == 0 && !first)) break;
    const int32_t vdelta =
        (uvdelta & 1) ? static_cast<int32_t>(~(uvdelta >> 1)) : static_cast<int32_t>(uvdelta >> 1);
    if (!varint(pcdelta)) break;
    const uint64_t start = pc;
    pc += pcdelta;
    val += vdelta;
    if (val < 0) continue;
    InlinedRange r{start, pc, {}, {}};
    int32_t ix = val;
    for (int depth = 0; depth < kMaxInlineDepth; depth++) {
      auto e = inline_entry(*tree, ix);
      if (!e) break;
      r.chain.push_back(e->name_off >= 0 ? cstring(funcname_ + static_cast<uint32_t>(e->name_off)) : "");
      r.chain_index.push_back(ix);
      ix = pcvalue(*f, off, f->entry + static_cast<uint32_t>(e->parent_pc));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace goscope::sym
