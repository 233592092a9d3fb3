import XCTest
@testable import TaskLoRA

final class TensorTests: XCTestCase {
    func testGemmMatchesHandProduct() {
        // A (2,3) · B (3,2)
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], values: [7, 8, 9, 10, 11, 12])
        let c = Tensor(zeros: [2, 2])
        BLAS.gemm(m: 2, n: 2, k: 3, a: a.data, lda: 3, b: b.data, ldb: 2, c: c.data, ldc: 2)
        XCTAssertEqual(c.array, [58, 64, 139, 154])
    }
}
