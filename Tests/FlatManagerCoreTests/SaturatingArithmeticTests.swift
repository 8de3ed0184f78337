import FlatManagerCore
import Testing

@Suite("Saturating arithmetic")
struct SaturatingArithmeticTests {
    @Test("sums past either bound stop at the bound")
    func addingSaturates() {
        #expect(Int64.max.saturatingAdding(1) == .max)
        #expect(Int64.min.saturatingAdding(-1) == .min)
        #expect(Int64(1_800_000_000).saturatingAdding(.max) == .max)
        #expect(Int64(5).saturatingAdding(-7) == -2)
    }

    @Test("differences past either bound stop at the bound")
    func subtractingSaturates() {
        #expect(Int64.min.saturatingSubtracting(1_800_000_000) == .min)
        #expect(Int64.max.saturatingSubtracting(-1) == .max)
        #expect(UInt32(3).saturatingSubtracting(5) == 0)
        #expect(Int64(5).saturatingSubtracting(7) == -2)
    }

    @Test("products past either bound stop at the bound with the right sign")
    func multiplyingSaturates() {
        #expect(Int64(10_000_000_000_000).saturatingMultiplied(by: 1_000_000) == .max)
        #expect(Int64(-10_000_000_000_000).saturatingMultiplied(by: 1_000_000) == .min)
        #expect(Int64.min.saturatingMultiplied(by: -1) == .max)
        #expect(Int64(-3).saturatingMultiplied(by: 4) == -12)
    }
}
