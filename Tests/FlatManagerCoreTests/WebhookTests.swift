import FlatManagerCore
import Testing

/// Webhooks in Core: GitHub's signature scheme, the back-off schedule, and the `webhooks` / `webhook-delivery` keys.
@Suite("Webhook signature, back-off and config")
struct WebhookTests {
    @Test("The signature is GitHub's: sha256= and the hex HMAC-SHA256 of the body (GitHub's documented example)")
    func signatureMatchesGitHubExample() {
        // Arrange
        let body = Array("Hello, World!".utf8)

        // Act
        let signature = WebhookSignature.value(body: body, secret: "It's a Secret to Everybody")

        // Assert
        #expect(signature == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
        #expect(WebhookSignature.header == "X-Hub-Signature-256")
    }

    @Test("A different body or secret gives a different signature")
    func signatureDependsOnBodyAndSecret() {
        // Arrange
        let body = Array(#"{"event":"build.committed"}"#.utf8)

        // Act
        let original = WebhookSignature.value(body: body, secret: "s1")
        let otherSecret = WebhookSignature.value(body: body, secret: "s2")
        let otherBody = WebhookSignature.value(body: body + [0x20], secret: "s1")

        // Assert
        #expect(original != otherSecret)
        #expect(original != otherBody)
        #expect(original.count == "sha256=".count + 64)
    }

    @Test("The back-off doubles from the base and stops at the cap: 1 s, 2 s, 4 s, 8 s … 3600 s")
    func backOffSchedule() {
        // Arrange
        let policy = WebhookDeliveryPolicy()

        // Act
        let delays = (1...14).map { policy.delayMilliseconds(afterAttempt: $0) }

        // Assert
        #expect(
            delays == [
                1000, 2000, 4000, 8000, 16000, 32000, 64000, 128_000, 256_000, 512_000, 1_024_000, 2_048_000,
                3_600_000, 3_600_000,
            ])
    }

    @Test("Huge attempt numbers and bases never overflow: the delay is the cap")
    func backOffNeverOverflows() {
        // Arrange
        var policy = WebhookDeliveryPolicy()
        policy.retryBaseMilliseconds = 3_600_000
        policy.retryMaxSeconds = 604_800

        // Act
        let delays = [0, 1, 63, 64, 1000, Int.max].map { policy.delayMilliseconds(afterAttempt: $0) }

        // Assert
        #expect(delays == [3_600_000, 3_600_000, 604_800_000, 604_800_000, 604_800_000, 604_800_000])
    }

    @Test("A delivery is given up after max-attempts attempts or max-age-hours after its event")
    func givingUp() {
        // Arrange
        var policy = WebhookDeliveryPolicy()
        policy.maxAttempts = 3
        policy.maxAgeHours = 1
        let created = Timestamp(secondsSinceEpoch: 1_000_000)

        // Act
        let early = policy.givesUp(afterAttempt: 2, created: created, now: created.adding(seconds: 60))
        let outOfAttempts = policy.givesUp(afterAttempt: 3, created: created, now: created.adding(seconds: 60))
        let tooOld = policy.givesUp(afterAttempt: 1, created: created, now: created.adding(seconds: 3600))

        // Assert
        #expect(!early)
        #expect(outOfAttempts)
        #expect(tooOld)
    }

    @Test("Without webhooks in config.json nothing is configured and the policy has its defaults")
    func absentByDefault() throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let config = try fixture.parse(ConfigFixture.minimal())

        // Assert
        #expect(config.webhooks.isEmpty)
        #expect(config.webhookDelivery == WebhookDeliveryPolicy())
    }

    @Test("A webhook entry and the delivery policy are read")
    func entryIsRead() throws {
        // Arrange
        let fixture = try ConfigFixture()
        let keys = """
            , "webhooks": [{"url": "https://hooks.example.org/fm", "events": ["build.published", "repo.updated"],
            "secret": "s3cret"}], "webhook-delivery": {"retry-base-ms": 50, "max-attempts": 5, "timeout-secs": 3}
            """

        // Act
        let config = try fixture.parse(ConfigFixture.minimal(extraTop: keys))

        // Assert
        #expect(
            config.webhooks == [
                WebhookConfig(
                    url: "https://hooks.example.org/fm", events: [.buildPublished, .repoUpdated], secret: "s3cret")
            ])
        #expect(config.webhookDelivery.retryBaseMilliseconds == 50)
        #expect(config.webhookDelivery.maxAttempts == 5)
        #expect(config.webhookDelivery.timeoutSeconds == 3)
        #expect(config.webhookDelivery.retryMaxSeconds == 3600)
    }

    /// A `webhooks` entry that start-up must refuse, and the key it must name.
    struct Refused: Sendable, CustomTestStringConvertible {
        var entry: String
        var key: String
        var testDescription: String { entry }
    }

    static let refused: [Refused] = [
        Refused(
            entry: #"{"url": "ftp://x.example/", "events": ["repo.updated"], "secret": "s"}"#, key: "webhooks[0].url"),
        Refused(entry: #"{"url": "not a url", "events": ["repo.updated"], "secret": "s"}"#, key: "webhooks[0].url"),
        Refused(
            entry: #"{"url": "http://x.example/", "events": ["build.done"], "secret": "s"}"#, key: "webhooks[0].events"),
        Refused(entry: #"{"url": "http://x.example/", "events": [], "secret": "s"}"#, key: "webhooks[0].events"),
        Refused(
            entry: #"{"url": "http://x.example/", "events": ["repo.updated"], "secret": ""}"#, key: "webhooks[0].secret"
        ),
        Refused(entry: #"{"url": "http://x.example/", "events": ["repo.updated"]}"#, key: "webhooks[0].secret"),
        Refused(
            entry: #"{"url": "http://x.example/", "events": ["repo.updated"], "secret": "s", "x": 1}"#,
            key: "webhooks[0].x"),
    ]

    @Test("A bad webhook entry is refused naming its key", arguments: refused)
    func badEntryNamesKey(_ example: Refused) throws {
        // Arrange
        let fixture = try ConfigFixture()

        // Act
        let error = fixture.error(ConfigFixture.minimal(extraTop: #", "webhooks": ["# + example.entry + "]"))

        // Assert
        #expect(error?.key == example.key, "\(String(describing: error))")
    }

    @Test("The secret appears in no description of the config, and display URLs drop credentials")
    func secretIsNeverPrinted() throws {
        // Arrange
        let fixture = try ConfigFixture()
        let keys =
            #", "webhooks": [{"url": "https://u:pw@h.example/p?token=t", "events": ["repo.updated"], "secret": "TOPSECRET"}]"#

        // Act
        let config = try fixture.parse(ConfigFixture.minimal(extraTop: keys))
        let texts = [String(describing: config), String(reflecting: config), "\(config.webhooks)"]

        // Assert
        for text in texts { #expect(!text.contains("TOPSECRET"), "\(text)") }
        #expect(
            WebhookConfig.displayURL("https://u:pw@h.example:8443/p?token=t", full: true) == "https://h.example:8443/p")
        #expect(
            WebhookConfig.displayURL("https://u:pw@h.example:8443/p?token=t", full: false) == "https://h.example:8443")
    }
}
