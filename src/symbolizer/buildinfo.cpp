#include "symbolizer/buildinfo.h"

#include <cstring>

namespace goscope::sym {

namespace {

constexpr std::string_view kMagic("\xff Go buildinf:", 14);
constexpr size_t kHeaderSize = 32;
constexpr uint8_t kFlagBigEndian = 0x1;
constexpr uint8_t kFlagInline = 0x2;

// Varint-prefixed string at `p` (the 1.18+ inline layout); advances p.
std::optional<std::string> read_varint_string(std::span<const uint8_t> blob, size_t& p) {
  uint64_t len = 0;
  for (int shift = 0;; shift += 7) {
    if (p >= blob.size() || shift > 63) return std::nullopt;
    const uint8_t b = blob[p++];
    len |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (len > blob.size() - p) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(blob.data() + p), len);
  p += len;
  return s;
}

// A Go string header (ptr, len) at `vaddr`, and the bytes it points to.
std::optional<std::string> read_go_string_at(const ElfFile& elf, uint64_t header_vaddr) {
  auto ptr = elf.read_pointer(header_vaddr);
  auto len = elf.read_pointer(header_vaddr + 8);
  if (!ptr || !len || *len > (64u << 20)) return std::nullopt;
  if (*len == 0) return std::string();
  auto b = elf.vaddr_bytes(*ptr, *len);
  if (b.size() != *len) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Where the buildinfo header is: the section, else a 16-byte aligned magic in a writable segment.
std::optional<uint64_t> find_buildinfo(const ElfFile& elf) {
  if (auto s = elf.find_section(".go.buildinfo"); s && s->addr) return s->addr;
  for (const auto& seg : elf.load_segments()) {
    if (!(seg.flags & 0x2 /* PF_W */)) continue;
    auto b = elf.vaddr_bytes(seg.vaddr, seg.filesz);
    const uint64_t start = (16 - (seg.vaddr % 16)) % 16;
    for (uint64_t o = start; o + kHeaderSize <= b.size(); o += 16) {
      if (std::memcmp(b.data() + o, kMagic.data(), kMagic.size()) == 0) return seg.vaddr + o;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<GoVersion> parse_go_version(std::string_view s) {
  if (s.substr(0, 2) != "go") return std::nullopt;
  s.remove_prefix(2);
  int parts[3] = {0, 0, 0};
  int i = 0;
  size_t p = 0;
  bool any = false;
  while (p < s.size() && i < 3) {
    if (s[p] >= '0' && s[p] <= '9') {
      parts[i] = parts[i] * 10 + (s[p] - '0');
      any = true;
      p++;
    } else if (s[p] == '.' && any) {
      i++;
      any = false;
      p++;
    } else {
      break;  // "rc1", " X:...", "-pre"...
    }
  }
  if (parts[0] == 0 && parts[1] == 0) return std::nullopt;
  return GoVersion{parts[0], parts[1], parts[2]};
}

void parse_modinfo(std::string_view m, BuildInfo& info) {
  // The linker wraps modinfo in two 16-byte sentinels; the second ends with '\n'-preceded bytes.
  if (m.size() >= 33 && m[m.size() - 17] == '\n') m = m.substr(16, m.size() - 32);
  while (!m.empty()) {
    const size_t nl = m.find('\n');
    std::string_view line = m.substr(0, nl);
    m = nl == std::string_view::npos ? std::string_view() : m.substr(nl + 1);
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    const std::string_view kind = line.substr(0, tab);
    std::string_view rest = line.substr(tab + 1);
    if (kind == "path") {
      info.main_path = rest;
    } else if (kind == "mod") {
      const size_t t2 = rest.find('\t');
      info.main_module = rest.substr(0, t2);
      if (t2 != std::string_view::npos) {
        std::string_view v = rest.substr(t2 + 1);
        info.module_version = v.substr(0, v.find('\t'));
      }
    } else if (kind == "dep") {
      const size_t t2 = rest.find('\t');
      std::string d(rest.substr(0, t2));
      if (t2 != std::string_view::npos) {
        std::string_view v = rest.substr(t2 + 1);
        d += "@" + std::string(v.substr(0, v.find('\t')));
      }
      info.deps.push_back(std::move(d));
    } else if (kind == "build") {
      const size_t eq = rest.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = rest.substr(0, eq), value = rest.substr(eq + 1);
      std::string v(value);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
        v = v.substr(1, v.size() - 2);  // quoted values
      info.settings.emplace_back(std::string(key), std::move(v));
    }
  }
}

Expected<BuildInfo> read_buildinfo(const ElfFile& elf) {
  auto at = find_buildinfo(elf);
  if (!at)
    return make_error(
        elf.path() +
        " is not a Go program (no .go.buildinfo); goscope traces programs built by Go 1.17 or newer");
  auto header = elf.vaddr_bytes(*at, kHeaderSize);
  if (header.size() != kHeaderSize || std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0)
    return make_error(elf.path() + ": .go.buildinfo is corrupt (bad magic)");
  const uint8_t ptr_size = header[14];
  const uint8_t flags = header[15];
  if (ptr_size != 8 || (flags & kFlagBigEndian))
    return make_error(elf.path() + ": .go.buildinfo is not for a 64-bit little-endian target");

  BuildInfo info;
  std::string modinfo;
  if (flags & kFlagInline) {
    info.inline_strings = true;
    // The strings follow the header; read within the segment that holds it.
    std::span<const uint8_t> blob;
    for (const auto& seg : elf.load_segments()) {
      if (*at >= seg.vaddr && *at < seg.vaddr + seg.filesz)
        blob = elf.vaddr_bytes(*at, seg.vaddr + seg.filesz - *at);
    }
    size_t p = kHeaderSize;
    auto v = read_varint_string(blob, p);
    auto mi = read_varint_string(blob, p);
    if (!v || !mi) return make_error(elf.path() + ": .go.buildinfo is corrupt (bad string)");
    info.go_version = *v;
    modinfo = *mi;
  } else {
    auto vp = elf.read_pointer(*at + 16);
    auto mp = elf.read_pointer(*at + 16 + ptr_size);
    std::optional<std::string> v, mi;
    if (vp) v = read_go_string_at(elf, *vp);
    if (mp) mi = read_go_string_at(elf, *mp);
    if (!v) return make_error(elf.path() + ": .go.buildinfo is corrupt (version string unreadable)");
    info.go_version = *v;
    if (mi) modinfo = *mi;
  }
  auto ver = parse_go_version(info.go_version);
  if (!ver) return make_error(elf.path() + ": unrecognised Go version string '" + info.go_version + "'");
  info.version = *ver;
  parse_modinfo(modinfo, info);
  return info;
}

}  // namespace goscope::sym
