#!/usr/bin/env bash
# Runs every Shingle test, as CI does: formatting, go vet, the unit and race
# tests, and the kernel-level suites that boot Debian's kernel under QEMU
# against real zoned block devices (null_blk and NVMe ZNS), network-boot a
# storage host from the PXE image, and bring up a rack with the playbooks.
#
# It installs what it needs on a fresh Debian machine (iproute2, QEMU and
# its iPXE ROMs, ansible-core, a kernel, a static busybox, smartmontools)
# through apt-get, and Go modules
# through the module proxy. It exits non-zero on the first failure.
#
#   ./tools/test.sh            everything
#   ./tools/test.sh --no-qemu  skip the QEMU suites (quick local loop; CI never does this)
set -euo pipefail

cd "$(dirname "$0")/.."

qemu=1
for arg in "$@"; do
	case "$arg" in
	--no-qemu) qemu=0 ;;
	-h | --help)
		sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "test.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH=/usr/local/go/bin:$PATH
fi
command -v go >/dev/null 2>&1 || {
	echo "test.sh: Go is not installed; install Go 1.26 (https://go.dev/dl) and put it on PATH" >&2
	exit 1
}

step() {
	echo
	echo "== $* ($(date +%T))"
}

# apt_install installs the Debian packages named, as root or through sudo.
apt_install() {
	step "installing $*"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || {
			echo "test.sh: need root (or sudo) to apt-get install $*" >&2
			exit 1
		}
		sudo=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" apt-get install -y -q "$@"
}

# install_test_deps installs what the race tests need: ip (iproute2), with
# which fleetd's partition tests build network namespaces.
install_test_deps() {
	command -v ip >/dev/null 2>&1 || apt_install iproute2
}

# install_qemu_deps installs the packages the kernel-level tests need when
# any is missing: QEMU, its network cards' iPXE ROMs (the PXE boot test),
# ansible-core (the rack bring-up test, which also boots a host),
# Debian's kernel (it has zoned block support and the null_blk and nvme
# modules), a static busybox for the guest, blkzone, and smartctl (the
# SMART test checks its readings against it).
install_qemu_deps() {
	local missing=()
	command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
	[ -e /usr/lib/ipxe/qemu/efi-virtio.rom ] || missing+=(ipxe-qemu)
	command -v ansible-playbook >/dev/null 2>&1 || missing+=(ansible-core)
	compgen -G '/boot/vmlinuz-*' >/dev/null || missing+=(linux-image-amd64)
	[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
	command -v blkzone >/dev/null 2>&1 || [ -x /usr/sbin/blkzone ] || missing+=(util-linux)
	command -v smartctl >/dev/null 2>&1 || [ -x /usr/sbin/smartctl ] || missing+=(smartmontools)
	[ ${#missing[@]} -eq 0 ] && return 0
	apt_install "${missing[@]}"
}

start=$(date +%s)

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change these files (run gofmt -w):"
	echo "$unformatted"
	exit 1
fi

step "go vet"
go vet ./...
go vet -tags qemu ./...
go vet -tags zonedguest ./...
go vet -tags discoverguest ./agent/discover/
go vet -tags smartguest ./agent/health/smart/
go vet -tags extentguest ./agent/extent/
go vet -tags smartdata ./agent/health/...

install_test_deps
step "go test -race"
go test -race ./...

# The failure predictor's published figures are checked against the real
# Backblaze data, which lives beside the repository, not in it.
smart_data=${SHINGLE_SMART_DATA:-../shared/data/smart}
if [ -d "$smart_data" ]; then
	step "failure predictor against the Backblaze data in $smart_data"
	SHINGLE_SMART_DATA=$(cd "$smart_data" && pwd) go test -tags smartdata -run TestCommittedModelMatchesREADME ./agent/health/predict/train/
else
	step "NOT RUN: the predictor's README check (no Backblaze data at $smart_data; set SHINGLE_SMART_DATA)"
fi

if [ "$qemu" = 1 ]; then
	install_qemu_deps
	step "kernel-level suites under QEMU"
	# On failure the guest's whole console is printed; add -v to stream it.
	go test -tags qemu -run '^(TestRun.*|TestKernelZonedDevices|TestKernelSMART|TestKernelDiscover|TestKernelExtentStore|TestPXEBootJoinsTheFleet|TestPlaybooksBringUpARack)$' \
		./images/... ./zoned/... ./agent/health/smart/ ./agent/discover/ ./agent/extent/ ./ansible/
fi

echo
echo "== all tests passed in $(($(date +%s) - start))s"
