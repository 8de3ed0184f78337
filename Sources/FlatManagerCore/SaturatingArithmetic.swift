/// Integer arithmetic that stops at the type's bounds instead of trapping.
///
/// Swift's `+`, `-` and `*` end the process on overflow. Values that come from a request, a token, a config file or a
/// remote peer (durations, expiry claims, offsets) go through these instead, wherever "as far as the type reaches"
/// is the right meaning of an out-of-range result; where it is not, callers use `addingReportingOverflow` and refuse.
extension FixedWidthInteger {
    /// `self + other`, or the bound it ran into.
    public func saturatingAdding(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, or the bound it ran into.
    public func saturatingSubtracting(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other > 0 ? .min : .max
    }

    /// `self * other`, or the bound it ran into.
    public func saturatingMultiplied(by other: Self) -> Self {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }
}
