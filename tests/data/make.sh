#!/usr/bin/env bash
# make.sh -- regenerate the interop files in tests/data with the reference tools.
#
# Needs: python3, gzip, pigz, zstd, xz (and its lzma mode), lz4, brotli, bzip2, pbzip2,
# lbzip2. Run from anywhere:
#   bash tests/data/make.sh
# Every file is listed in MANIFEST as: <file> <format> <expected>, where <expected> is the
# input file(s) it decodes to (joined with +) or error:<Variant> when decoding must fail.
# The files were made with gzip 1.12, pigz 2.6, zstd 1.5.4, xz 5.4.1, lz4 1.9.4, Python 3.11,
# brotli 1.0.9, bzip2 1.0.8, pbzip2 1.1.13, lbzip2 2.5 (Debian 12).
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C TZ=UTC

# --- inputs: deterministic, ~100 KiB of text-like data and 3 KiB of random bytes ---------
python3 - <<'PY'
import random
r = random.Random(1952)
words = ("stream buffer decoder encoder the of and memory bounded frame member checksum "
         "window block a to compress data error truncated gzip zstd lz4 xz").split()
lines = []
size = 0
while size < 100_000:
    line = " ".join(r.choice(words) for _ in range(r.randint(3, 14)))
    line += " %d\n" % r.randint(0, 99999)
    lines.append(line)
    size += len(line)
open("input.txt", "w").write("".join(lines)[:100_000])
open("input.bin", "wb").write(random.Random(1953).randbytes(3072))
PY

rm -f MANIFEST ./*.gz ./*.zz ./*.deflate ./*.zst ./*.lz4 ./*.xz ./*.lzma ./*.br ./*.bz2
entry() { echo "$1 $2 $3" >> MANIFEST; }

# --- gzip -------------------------------------------------------------------------------
gzip -c -n input.txt > gzip_plain.gz;                          entry gzip_plain.gz gzip input.txt
gzip -c -9 input.txt > gzip_name.gz;                           entry gzip_name.gz gzip input.txt   # FNAME + MTIME
{ gzip -c -n -1 input.txt; gzip -c -n input.bin; } > gzip_multi.gz; entry gzip_multi.gz gzip input.txt+input.bin
pigz -c -n -p 2 -b 32 input.txt > pigz_blocks.gz;              entry pigz_blocks.gz gzip input.txt
pigz -c -z -p 2 -b 32 input.txt > pigz.zz;                     entry pigz.zz zlib input.txt
python3 - <<'PY'
import gzip, struct, zlib
data = open("input.txt", "rb").read()
open("python_gzip.gz", "wb").write(gzip.compress(data, mtime=0))
# a header with every optional field: FEXTRA, FNAME, FCOMMENT and FHCRC
FHCRC, FEXTRA, FNAME, FCOMMENT = 2, 4, 8, 16
extra = b"AB" + struct.pack("<H", 5) + b"hello"
head = bytes([0x1f, 0x8b, 8, FHCRC | FEXTRA | FNAME | FCOMMENT]) + struct.pack("<I", 0) + bytes([0, 3])
head += struct.pack("<H", len(extra)) + extra + b"input.txt\0" + b"a comment, with punctuation\0"
head += struct.pack("<H", zlib.crc32(head) & 0xffff)
c = zlib.compressobj(6, zlib.DEFLATED, -15)
body = c.compress(data) + c.flush()
trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xffffffff)
open("gzip_all_fields.gz", "wb").write(head + body + trailer)
bad = bytearray(head + body + trailer)
hcrc_at = len(head) - 2
bad[hcrc_at] ^= 0xff
open("gzip_bad_hcrc.gz", "wb").write(bytes(bad))
# zlib and raw deflate
open("python_zlib.zz", "wb").write(zlib.compress(data, 9))
c = zlib.compressobj(6, zlib.DEFLATED, -15)
open("python_raw.deflate", "wb").write(c.compress(data) + c.flush())
PY
entry python_gzip.gz gzip input.txt
entry gzip_all_fields.gz gzip input.txt
entry gzip_bad_hcrc.gz gzip error:Corrupt
entry python_zlib.zz zlib input.txt
entry python_raw.deflate deflate input.txt

# --- zstd -------------------------------------------------------------------------------
zstd -q -c input.txt > zstd_check.zst;                         entry zstd_check.zst zstd input.txt
zstd -q -c --no-check -19 input.txt > zstd_nocheck.zst;        entry zstd_nocheck.zst zstd input.txt
{ zstd -q -c -1 input.txt; zstd -q -c input.bin; } > zstd_multi.zst; entry zstd_multi.zst zstd input.txt+input.bin
python3 - <<'PY'
import struct, subprocess
frame = subprocess.run(["zstd", "-q", "-c", "input.txt"], check=True, capture_output=True).stdout
skip = lambda n, payload: struct.pack("<II", 0x184D2A50 | n, len(payload)) + payload
open("zstd_skippable.zst", "wb").write(skip(0, b"leading metadata") + frame + skip(15, b"") + skip(3, b"trailer"))
PY
entry zstd_skippable.zst zstd input.txt

# --- lz4 --------------------------------------------------------------------------------
lz4 -q -c input.txt > lz4_default.lz4;                         entry lz4_default.lz4 lz4 input.txt
lz4 -q -c -B4 -BD input.txt > lz4_linked.lz4;                  entry lz4_linked.lz4 lz4 input.txt
lz4 -q -c -B4 -BX input.txt > lz4_blockcheck.lz4;              entry lz4_blockcheck.lz4 lz4 input.txt
lz4 -q -c -B4 -BD -BX --content-size --no-frame-crc input.txt > lz4_size_nocrc.lz4; entry lz4_size_nocrc.lz4 lz4 input.txt
lz4 -q -c -9 -B5 input.txt > lz4_hc.lz4;                       entry lz4_hc.lz4 lz4 input.txt
{ lz4 -q -c input.txt; lz4 -q -c input.bin; } > lz4_multi.lz4; entry lz4_multi.lz4 lz4 input.txt+input.bin
lz4 -q -c -l input.txt > lz4_legacy.lz4;                       entry lz4_legacy.lz4 lz4 error:Unsupported
python3 - <<'PY'
import struct, subprocess
frame = subprocess.run(["lz4", "-q", "-c", "input.bin"], check=True, capture_output=True).stdout
skip = lambda n, payload: struct.pack("<II", 0x184D2A50 | n, len(payload)) + payload
open("lz4_skippable.lz4", "wb").write(skip(1, b"meta") + frame + skip(2, b"x" * 100))
PY
entry lz4_skippable.lz4 lz4 input.bin

# --- xz ---------------------------------------------------------------------------------
xz -q -c input.txt > xz_crc64.xz;                              entry xz_crc64.xz xz input.txt
xz -q -c --check=none input.txt > xz_none.xz;                  entry xz_none.xz xz input.txt
xz -q -c --check=crc32 -0 input.txt > xz_crc32.xz;             entry xz_crc32.xz xz input.txt
xz -q -c --check=sha256 input.txt > xz_sha256.xz;              entry xz_sha256.xz xz input.txt
xz -q -c --block-size=16KiB input.txt > xz_blocks.xz;          entry xz_blocks.xz xz input.txt
xz -q -c -T2 --block-size=32KiB input.txt > xz_mt.xz;          entry xz_mt.xz xz input.txt
{ xz -q -c input.txt; printf '\0\0\0\0'; xz -q -c --check=crc32 input.bin; printf '\0\0\0\0\0\0\0\0'; } > xz_multi_padded.xz
entry xz_multi_padded.xz xz input.txt+input.bin
python3 -c 'import lzma; open("python_xz.xz","wb").write(lzma.compress(open("input.txt","rb").read()))'
entry python_xz.xz xz input.txt

# --- lzma (legacy .lzma) ----------------------------------------------------------------
xz -q -c --format=lzma input.txt > xz_alone.lzma;              entry xz_alone.lzma lzma input.txt
python3 -c 'import lzma; open("python_alone.lzma","wb").write(lzma.compress(open("input.txt","rb").read(), format=lzma.FORMAT_ALONE))'
entry python_alone.lzma lzma input.txt

# --- brotli -----------------------------------------------------------------------------
brotli -c -q 11 input.txt > brotli_q11.br;                     entry brotli_q11.br brotli input.txt
brotli -c -q 5 -w 16 input.txt > brotli_w16.br;                entry brotli_w16.br brotli input.txt
brotli -c -q 1 input.bin > brotli_bin.br;                      entry brotli_bin.br brotli input.bin
brotli -c -q 9 -w 24 input.txt > brotli_w24.br;                entry brotli_w24.br brotli input.txt
brotli -c --large_window=26 input.txt > brotli_large.br;       entry brotli_large.br brotli error:Unsupported
printf '' | brotli -c > brotli_empty.br;                       entry brotli_empty.br brotli empty

# --- bzip2 ------------------------------------------------------------------------------
bzip2 -c -9 input.txt > bzip2_9.bz2;                           entry bzip2_9.bz2 bzip2 input.txt
bzip2 -c -1 input.txt > bzip2_1.bz2;                           entry bzip2_1.bz2 bzip2 input.txt
{ bzip2 -c input.txt; bzip2 -c -2 input.bin; } > bzip2_multi.bz2; entry bzip2_multi.bz2 bzip2 input.txt+input.bin
printf '' | bzip2 -c > bzip2_empty.bz2;                        entry bzip2_empty.bz2 bzip2 empty
# 300 kB in 100 kB blocks: pbzip2 writes a stream per block, lbzip2 one stream of blocks
cat input.txt input.txt input.txt | pbzip2 -c -p2 -b1 > pbzip2_streams.bz2
entry pbzip2_streams.bz2 bzip2 input.txt+input.txt+input.txt
cat input.txt input.txt input.txt | lbzip2 -c -n 2 -1 > lbzip2_blocks.bz2
entry lbzip2_blocks.bz2 bzip2 input.txt+input.txt+input.txt
python3 -c 'import bz2; open("python.bz2","wb").write(bz2.compress(open("input.txt","rb").read(), 9))'
entry python.bz2 bzip2 input.txt
: > empty

ls -l | awk '{ s += $5 } END { print "tests/data:", NR - 1, "files,", s, "bytes" }'
