/*
 * dlpack_abi.h -- the minimal DLPack ABI the array readers use: DLTensor
 * and DLPack's C exchange API (dlpack.h 1.3), declared by hand so that the
 * extension builds without dlpack.h.  Only the fields read are named; the
 * layout is the header's.  The pure-Python twin declares the same structs
 * with ctypes (_launcher_py/dlpack_abi.py).
 */
#ifndef LCS_DLPACK_ABI_H
#define LCS_DLPACK_ABI_H

#include <stdint.h>

/* *************************************************************************
 * DLTensor                                                                *
 * ************************************************************************* */

typedef struct { int32_t device_type, device_id; } DLDevice;
typedef struct { uint8_t code, bits; uint16_t lanes; } DLDataType;
typedef struct {
    void *data;
    DLDevice device;
    int32_t ndim;
    DLDataType dtype;
    int64_t *shape, *strides;  /* strides in elements; NULL: C-contiguous */
    uint64_t byte_offset;
} DLTensor;

#define DL_CUDA 2  /* kDLCUDA */

/* *************************************************************************
 * The C exchange API (a type's __dlpack_c_exchange_api__ capsule)         *
 * ************************************************************************* */

#define DLPACK_EXCHANGE_API_CAPSULE "dlpack_exchange_api"

typedef struct DLPackExchangeAPIHeader {
    struct { uint32_t major, minor; } version;
    struct DLPackExchangeAPIHeader *prev_api;
} DLPackExchangeAPIHeader;

typedef struct {
    DLPackExchangeAPIHeader header;
    void *managed_tensor_allocator;
    void *managed_tensor_from_py_object_no_sync;
    void *managed_tensor_to_py_object_no_sync;
    int (*dltensor_from_py_object_no_sync)(void *py_object, DLTensor *out);
    int (*current_work_stream)(int device_type, int32_t device_id,
                               void **out_stream);
} DLPackExchangeAPI;

#endif /* LCS_DLPACK_ABI_H */
