# Dependencies.cmake: every external library, found the CMake way, each with a
# message that names the Debian package to install (tools/setup installs all).

find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config (or run tools/setup)")
endif()

function(posbench_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "${what} not found: apt-get install ${package} (or run tools/setup)")
  endif()
endfunction()

# PCRE2 (8-bit, with Unicode properties and JIT) for the GPT-2 pre-tokenizer.
pkg_check_modules(PCRE2 IMPORTED_TARGET libpcre2-8)
posbench_require(PCRE2_FOUND "PCRE2" libpcre2-dev)

find_package(ZLIB)
posbench_require(ZLIB_FOUND "zlib" zlib1g-dev)

find_package(OpenSSL COMPONENTS Crypto)
posbench_require(OPENSSL_FOUND "OpenSSL libcrypto (SHA-256)" libssl-dev)

set(HDF5_PREFER_PARALLEL OFF)
find_package(HDF5 COMPONENTS C)
posbench_require(HDF5_FOUND "HDF5 (serial)" libhdf5-dev)

set(BLA_VENDOR OpenBLAS)
find_package(BLAS)
posbench_require(BLAS_FOUND "OpenBLAS" libopenblas-dev)
find_path(CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas)
posbench_require(CBLAS_INCLUDE_DIR "cblas.h (OpenBLAS headers)" libopenblas-dev)

find_package(OpenMP COMPONENTS C)
posbench_require(OpenMP_C_FOUND "OpenMP for C" libgomp1)

find_package(benchmark CONFIG)
posbench_require(benchmark_FOUND "Google Benchmark" libbenchmark-dev)

find_program(GNUPLOT_EXECUTABLE gnuplot)
posbench_require(GNUPLOT_EXECUTABLE "gnuplot" gnuplot-nox)

# MPI (optional; harness/sweep/mpi_sweep.h): `mpirun -n N posbench generalize|run`
# shares the sweep's runs out across ranks. AUTO (the default) builds with
# it when found (Debian: libopenmpi-dev, openmpi-bin; tools/setup installs
# them), ON requires it, OFF leaves it out. Only the posbench executable
# links MPI; a plain run never initialises it.
set(POSBENCH_MPI AUTO CACHE STRING "Build the MPI sweep (AUTO: when MPI is found; ON; OFF)")
set_property(CACHE POSBENCH_MPI PROPERTY STRINGS AUTO ON OFF)
set(POSBENCH_WITH_MPI OFF)
if(NOT POSBENCH_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(POSBENCH_WITH_MPI ON)
    find_program(POSBENCH_MPIEXEC NAMES mpirun mpiexec HINTS ${MPIEXEC_EXECUTABLE})
  elseif(POSBENCH_MPI STREQUAL "ON")
    message(FATAL_ERROR "MPI not found: apt-get install libopenmpi-dev openmpi-bin (or run tools/setup), or -DPOSBENCH_MPI=OFF")
  endif()
endif()
message(STATUS "posbench MPI sweep: ${POSBENCH_WITH_MPI}")
