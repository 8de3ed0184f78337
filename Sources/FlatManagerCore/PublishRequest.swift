/// Body of `POST /build/{id}/publish`. Upstream reads none (its clients send `{}` or nothing); ours has one
/// optional member, `allow-downgrade`, which overrides the repo's downgrade protection for this publish.
public struct PublishRequest: Codable, Sendable, Equatable {
    public var allowDowngrade: Bool?

    public init(allowDowngrade: Bool? = nil) {
        self.allowDowngrade = allowDowngrade
    }

    enum CodingKeys: String, CodingKey {
        case allowDowngrade = "allow-downgrade"
    }
}
