package qemu

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// showDependsNVMe is `modprobe --show-depends nvme` on Debian 12's
// 6.1 kernel: crct10dif_common and crc64 appear more than once, and the
// soft dependencies of crc-t10dif (the crct10dif drivers) are included.
const showDependsNVMe = `insmod /lib/modules/6.1.0-56-amd64/kernel/crypto/crct10dif_common.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/lib/crc64.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/crypto/crct10dif_common.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/arch/x86/crypto/crct10dif-pclmul.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/crypto/crct10dif_common.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/crypto/crct10dif_generic.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/lib/crc-t10dif.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/lib/crc64.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/lib/crc64-rocksoft.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/block/t10-pi.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/drivers/nvme/host/nvme-core.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/drivers/nvme/host/nvme.ko 
`

const showDependsNullBlk = `insmod /lib/modules/6.1.0-56-amd64/kernel/fs/configfs/configfs.ko 
insmod /lib/modules/6.1.0-56-amd64/kernel/drivers/block/null_blk/null_blk.ko 
`

func names(mods []module) []string {
	var out []string
	for _, m := range mods {
		out = append(out, m.name)
	}
	return out
}

func TestParseShowDepends(t *testing.T) {
	paths, err := parseShowDepends(showDependsNVMe)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range paths {
		got = append(got, moduleName(p))
	}
	want := []string{"crct10dif_common", "crc64", "crct10dif_pclmul", "crct10dif_generic",
		"crc_t10dif", "crc64_rocksoft", "t10_pi", "nvme_core", "nvme"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v\nwant    %v", got, want)
	}

	paths, err = parseShowDepends("builtin configfs\ninsmod /x/null_blk.ko.xz opt=1\n")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(paths, []string{"/x/null_blk.ko.xz"}) {
		t.Errorf("builtin and options: got %v", paths)
	}

	if _, err := parseShowDepends("FATAL: Module nosuch not found\n"); err == nil {
		t.Error("garbage output was accepted")
	}
}

func TestLoadOrder(t *testing.T) {
	var orders [][]string
	for _, out := range []string{showDependsNullBlk, showDependsNVMe, showDependsNVMe} {
		paths, err := parseShowDepends(out)
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, paths)
	}
	mods := loadOrder([]string{"null_blk", "nvme", "nvme-core"}, orders)
	got := names(mods)
	want := []string{"configfs", "null_blk", "crct10dif_common", "crc64", "crct10dif_pclmul",
		"crct10dif_generic", "crc_t10dif", "crc64_rocksoft", "t10_pi", "nvme_core", "nvme"}
	if !slices.Equal(got, want) {
		t.Fatalf("order = %v\nwant    %v", got, want)
	}
	// Every module comes after everything its own show-depends listed.
	pos := map[string]int{}
	for i, n := range got {
		pos[n] = i
	}
	for _, order := range orders {
		for i := 1; i < len(order); i++ {
			if pos[moduleName(order[i-1])] > pos[moduleName(order[i])] {
				t.Errorf("%s loads after %s", order[i-1], order[i])
			}
		}
	}
	for _, m := range mods {
		wantExplicit := m.name == "null_blk" || m.name == "nvme" || m.name == "nvme_core"
		if m.explicit != wantExplicit {
			t.Errorf("%s: explicit = %v", m.name, m.explicit)
		}
	}
	if g := mods[len(mods)-1].guestName(); g != "nvme.ko" {
		t.Errorf("guest name %q", g)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"crc-t10dif":                   "crc_t10dif",
		"crc_t10dif":                   "crc_t10dif",
		"/lib/modules/v/crc-t10dif.ko": "crc_t10dif",
		"/x/nvme-core.ko.zst":          "nvme_core",
	} {
		if got := moduleName(in); got != want {
			t.Errorf("moduleName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadCommand(t *testing.T) {
	params := map[string]string{"null-blk": " zoned=1 gb=1 "}
	got := loadCommand("/lib/modules/v/null_blk.ko", module{name: "null_blk", explicit: true}, params)
	want := "insmod /lib/modules/v/null_blk.ko zoned=1 gb=1 || setup_failed 'could not load kernel module null_blk'"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = loadCommand("/m/configfs.ko", module{name: "configfs"}, params)
	if !strings.HasPrefix(got, "insmod /m/configfs.ko || echo ") {
		t.Errorf("dependency load: %s", got)
	}
}

func TestParseConsole(t *testing.T) {
	code, err := parseConsole("boot\nSHINGLE-GUEST-EXIT=0\n")
	if err != nil || code != 0 {
		t.Errorf("exit 0: %d, %v", code, err)
	}
	// Kernel messages may precede the marker on its line, and may follow it.
	code, err = parseConsole("x\n[    1.0] foo: barSHINGLE-GUEST-EXIT=42\n[ 3.1] reboot: Power down\n")
	if err != nil || code != 42 {
		t.Errorf("exit 42: %d, %v", code, err)
	}
	// The init script's own text names the marker but carries no number.
	if _, err := parseConsole("echo \"SHINGLE-GUEST-EXIT=$status\"\n"); !errors.Is(err, errNoMarker) {
		t.Errorf("no marker: %v", err)
	}
	_, err = parseConsole("SHINGLE-GUEST-SETUP-FAILED: could not load kernel module nvme\n")
	if !errors.Is(err, errSetupFailed) || !strings.Contains(err.Error(), "could not load kernel module nvme") {
		t.Errorf("setup failure: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	vs := []string{"6.1.0-56-amd64", "5.10.0-9-amd64", "6.1.0-9-amd64", "6.10.0-1-amd64", "6.1.0-56-cloud-amd64"}
	slices.SortFunc(vs, compareVersions)
	want := []string{"5.10.0-9-amd64", "6.1.0-9-amd64", "6.1.0-56-amd64", "6.1.0-56-cloud-amd64", "6.10.0-1-amd64"}
	if !slices.Equal(vs, want) {
		t.Errorf("sorted %v\nwant   %v", vs, want)
	}
}

func TestKernelVersion(t *testing.T) {
	img := make([]byte, 0x1000)
	copy(img[0x202:], "HdrS")
	img[0x20e], img[0x20f] = 0x00, 0x0a // string at 0x0a00 + 0x200
	copy(img[0xc00:], "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00")
	v, err := kernelVersion(bytes.NewReader(img))
	if err != nil || v != "6.1.0-56-amd64" {
		t.Errorf("kernelVersion = %q, %v", v, err)
	}
	if _, err := kernelVersion(bytes.NewReader(make([]byte, 0x1000))); err == nil {
		t.Error("accepted an image without a boot header")
	}
}

func TestParseLdd(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd6f1d8000)\n" +
		"\tlibblkid.so.1 => /lib/x86_64-linux-gnu/libblkid.so.1 (0x00007f5e1c9a0000)\n" +
		"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5e1c7bf000)\n" +
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007f5e1ca2d000)\n"
	libs, err := parseLdd("/usr/sbin/blkzone", out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/lib/x86_64-linux-gnu/libblkid.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if !slices.Equal(libs, want) {
		t.Errorf("libs = %v, want %v", libs, want)
	}
	_, err = parseLdd("/usr/bin/x", "\tlibfoo.so.1 => not found\n")
	if err == nil || !strings.Contains(err.Error(), "libfoo.so.1") {
		t.Errorf("missing library: %v", err)
	}
}

func TestImageRejectsDuplicates(t *testing.T) {
	im := newImage()
	if err := im.addFile("/init", source{data: []byte("x")}, "the init script"); err != nil {
		t.Fatal(err)
	}
	err := im.addFile("init", source{data: []byte("y")}, "Files entry /init")
	if err == nil || !strings.Contains(err.Error(), "Files entry /init") {
		t.Errorf("duplicate: %v", err)
	}
}

func TestTail(t *testing.T) {
	if got := tail("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("tail = %q", got)
	}
}

func TestConsoleWriter(t *testing.T) {
	var stream bytes.Buffer
	c := &consoleWriter{stream: &stream}
	c.Write([]byte("a\r\nb"))
	c.Write([]byte("\r\n"))
	if c.String() != "a\nb\n" || stream.String() != "a\nb\n" {
		t.Errorf("console %q, stream %q", c.String(), stream.String())
	}
}
