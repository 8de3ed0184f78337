/// Failure of a job, with the text that ends up in `results.error-message` and in build state reasons.
public struct JobError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
