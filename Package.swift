// swift-tools-version: 6.2
import PackageDescription

/// Settings for every target of ours: Swift 6 mode, the upcoming features STYLE.md asks for, warnings as errors.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "flat-manager",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "flat-manager", targets: ["FlatManagerServer"]),
        .executable(name: "flat-manager-client", targets: ["FlatManagerClient"]),
        .executable(name: "gentoken", targets: ["GenToken"]),
        .executable(name: "delta-generator-client", targets: ["DeltaGeneratorClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Already resolved through swift-subprocess; named here because our modules pass paths as its `FilePath`.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .target(
            name: "FlatManagerCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OSTree",
            dependencies: [
                "FlatManagerCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FlatManagerStore",
            dependencies: [
                "FlatManagerCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FlatManagerJobs",
            dependencies: [
                "FlatManagerCore", "OSTree", "FlatManagerStore", "FlatManagerMetrics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // Webhook deliveries (HTTPWebhookTransport.swift): outgoing POSTs only, no serving.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // openat2(2) for the file server's confinement: a system call without a C library wrapper.
        .target(name: "CLinuxFiles"),
        .target(
            name: "FlatManagerAPI",
            dependencies: [
                "FlatManagerCore", "OSTree", "FlatManagerStore", "FlatManagerJobs", "FlatManagerMetrics", "CLinuxFiles",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict,
            // docs/openapi.yaml, the one source of the document served at GET /openapi.yaml, as a resource.
            plugins: ["BundleOpenAPIDocument"]
        ),
        .plugin(name: "BundleOpenAPIDocument", capability: .buildTool()),
        .executableTarget(
            name: "FlatManagerServer",
            dependencies: [
                "FlatManagerCore", "OSTree", "FlatManagerStore", "FlatManagerJobs", "FlatManagerAPI",
                "FlatManagerMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "FlatManagerClient",
            dependencies: [
                "FlatManagerCore", "FlatManagerCLI", "OSTree",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FlatManagerMetrics",
            dependencies: ["FlatManagerCore"],
            swiftSettings: strict
        ),
        .target(
            name: "FlatManagerCLI",
            dependencies: [
                "FlatManagerCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "GenToken",
            dependencies: [
                "FlatManagerCore", "FlatManagerCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "DeltaGeneratorClient",
            dependencies: [
                "FlatManagerCore", "OSTree",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Test helpers shared by the test targets: what the machine offers (TestEnvironment, the database list),
        // the real-server harness (TestServer, Client, FixtureRepo, fake tools, processes, HTTP), temporary
        // directories, a seeded generator for the fuzz and property tests, and BinarySupport, which finds and runs
        // the built executables for the client, gentoken and worker tests.
        .target(
            name: "TestSupport", dependencies: ["FlatManagerCore"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "FlatManagerCoreTests",
            dependencies: [
                "FlatManagerCore", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "FlatManagerClientTests",
            dependencies: [
                "FlatManagerClient", "FlatManagerCore", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "GenTokenTests", dependencies: ["GenToken", "FlatManagerCore", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "FlatManagerServerTests",
            dependencies: [
                "FlatManagerServer", "FlatManagerCore", "OSTree", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "DeltaGeneratorClientTests", dependencies: ["DeltaGeneratorClient", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "OSTreeTests",
            dependencies: ["OSTree", "TestSupport", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict),
        .testTarget(
            name: "FlatManagerStoreTests",
            dependencies: [
                "FlatManagerStore", "TestSupport", .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "FlatManagerJobsTests",
            dependencies: [
                "FlatManagerJobs", "FlatManagerStore", "OSTree", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "FlatManagerMetricsTests", dependencies: ["FlatManagerMetrics", "FlatManagerCore"],
            swiftSettings: strict),
        .testTarget(
            name: "FlatManagerAPITests",
            dependencies: [
                "FlatManagerAPI", "FlatManagerStore", "FlatManagerJobs", "FlatManagerMetrics", "FlatManagerServer",
                "OSTree", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "FlatManagerCore", "FlatManagerClient", "FlatManagerServer", "GenToken", "DeltaGeneratorClient",
                "TestSupport", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
    ]
)
