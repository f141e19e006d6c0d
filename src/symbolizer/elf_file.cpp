#include "symbolizer/elf_file.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>

namespace goscope::sym {

namespace {

Error elf_error(const std::string& path, const char* what) {
  return make_error(path + ": " + what + ": " + elf_errmsg(-1));
}

}  // namespace

Expected<ElfFile> ElfFile::open(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return make_error("libelf is too old for this ELF version");

  ElfFile f;
  f.path_ = path;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd_ < 0) return Error::from_errno("cannot open " + path, errno);

  f.elf_ = elf_begin(f.fd_, ELF_C_READ_MMAP, nullptr);
  if (!f.elf_) return elf_error(path, "not a readable ELF file");
  if (elf_kind(f.elf_) != ELF_K_ELF) return make_error(path + ": not an ELF executable");

  GElf_Ehdr ehdr;
  if (!gelf_getehdr(f.elf_, &ehdr)) return elf_error(path, "bad ELF header");
  if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_machine != EM_X86_64)
    return make_error(path + ": not an x86-64 ELF binary (goscope traces amd64 Go programs)");
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)
    return make_error(path + ": not an executable (ELF type " + std::to_string(ehdr.e_type) + ")");
  f.is_pie_ = ehdr.e_type == ET_DYN;

  size_t phnum = 0;
  if (elf_getphdrnum(f.elf_, &phnum) != 0) return elf_error(path, "bad program headers");
  for (size_t i = 0; i < phnum; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(f.elf_, static_cast<int>(i), &ph)) return elf_error(path, "bad program header");
    if (ph.p_type != PT_LOAD) continue;
    f.segments_.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ph.p_flags});
  }
  if (f.segments_.empty()) return make_error(path + ": ELF file has no loadable segments");

  for (Elf_Scn* scn = elf_nextscn(f.elf_, nullptr); scn; scn = elf_nextscn(f.elf_, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) f.has_symtab_ = true;
  }
  return f;
}

ElfFile::ElfFile(ElfFile&& o) noexcept { *this = std::move(o); }

ElfFile& ElfFile::operator=(ElfFile&& o) noexcept {
  if (this != &o) {
    close();
    path_ = std::move(o.path_);
    fd_ = std::exchange(o.fd_, -1);
    elf_ = std::exchange(o.elf_, nullptr);
    is_pie_ = o.is_pie_;
    has_symtab_ = o.has_symtab_;
    segments_ = std::move(o.segments_);
  }
  return *this;
}

ElfFile::~ElfFile() { close(); }

void ElfFile::close() {
  if (elf_) elf_end(elf_);
  if (fd_ >= 0) ::close(fd_);
  elf_ = nullptr;
  fd_ = -1;
}

bool ElfFile::has_section(std::string_view name) const {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf_, &shstrndx) != 0) return false;
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* n = elf_strptr(elf_, shstrndx, sh.sh_name);
    if (n && name == n) return true;
  }
  return false;
}

std::optional<ElfSymbol> ElfFile::find_function(std::string_view name) const {
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    const size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < count; i++) {
      GElf_Sym s;
      if (!gelf_getsym(data, static_cast<int>(i), &s)) continue;
      if (GELF_ST_TYPE(s.st_info) != STT_FUNC) continue;
      const char* n = elf_strptr(elf_, sh.sh_link, s.st_name);
      if (n && name == n) return ElfSymbol{n, s.st_value, s.st_size};
    }
  }
  return std::nullopt;
}

Expected<uint64_t> ElfFile::vaddr_to_file_offset(uint64_t vaddr) const {
  for (const auto& seg : segments_) {
    if (vaddr >= seg.vaddr && vaddr < seg.vaddr + seg.filesz) return vaddr - seg.vaddr + seg.offset;
  }
  return make_error(path_ + ": address 0x" + [&] {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lx", static_cast<unsigned long>(vaddr));
    return std::string(buf);
  }() + " is not in any loadable segment of the file");
}

Expected<std::vector<uint8_t>> ElfFile::read_vaddr(uint64_t vaddr, uint64_t size) const {
  GS_TRY(uint64_t off, vaddr_to_file_offset(vaddr));
  std::vector<uint8_t> buf(size);
  ssize_t n = ::pread(fd_, buf.data(), size, static_cast<off_t>(off));
  if (n < 0) return Error::from_errno("cannot read " + path_, errno);
  if (static_cast<uint64_t>(n) != size) return make_error(path_ + ": file is truncated");
  return buf;
}

}  // namespace goscope::sym
