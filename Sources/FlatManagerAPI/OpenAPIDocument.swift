/// The OpenAPI document served at `GET /openapi.yaml`: a copy of `docs/openapi.yaml`, embedded because the package
/// declares no resources. `OpenAPIDocumentTests` fails when the two differ.
enum OpenAPIDocument {
    static let yaml = #"""
        openapi: 3.1.0
        info:
          title: flat-manager API
          version: 0.5.0-swift
          description: >-
            The /api/v1 API of flat-manager (wire compatible with upstream 0.4.2/0.5). Every route needs a JWT in
            `Authorization: Bearer <token>` (checked first, so any request without a valid one gets 401). Errors are the
            Error object, except as upstream's framework answers: plain text for a body that cannot be read (400, 413,
            415); an empty 404 for a path not listed here or an id that is not a 32-bit integer; an empty 405 with
            `Allow` for a method a listed path does not serve. Served unauthenticated at GET /openapi.yaml; kept true by
            the OpenAPI conformance integration tests (schemathesis-generated requests and hand-picked flows).
        servers:
          - url: /api/v1
        security:
          - bearer: []
        paths:
          /tokens/get_list:
            post:
              summary: Usage records of token ids
              requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/TokenIDs'}}}}
              responses:
                '200': {description: Known tokens, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/TokenUsage'}}}}}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /tokens/revoke:
            post:
              summary: Revoke token ids
              requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/TokenIDs'}}}}
              responses:
                '204': {description: Revoked}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /token_subset:
            post:
              summary: Mint a narrower token
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [sub, scope, duration, name]
                      properties:
                        sub: {type: string}
                        scope: {type: array, items: {type: string}}
                        duration: {type: integer}
                        name: {type: string}
                        prefixes: {type: array, items: {type: string}}
                        apps: {type: array, items: {type: string}}
                        repos: {type: array, items: {type: string}}
              responses:
                '200':
                  description: The new token
                  content: {application/json: {schema: {type: object, required: [token], properties: {token: {type: string}}}}}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /job/{id}:
            get:
              summary: A job, its log from an optional byte offset (JSON body on GET)
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody:
                content: {application/json: {schema: {type: object, properties: {log-offset: {type: [integer, 'null'], minimum: 0}}}}}
              responses:
                '200': {$ref: '#/components/responses/Job'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /job/{id}/check/review:
            post:
              summary: Set the status of a check
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [new-status]
                      properties:
                        new-status:
                          type: object
                          required: [status]
                          properties:
                            status: {enum: [Pending, Passed, PassedWithWarnings, Failed, ReviewRequired]}
                            reason: {type: string}
                        new-results: {type: string}
              responses:
                '204': {description: Updated}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /build:
            post:
              summary: Create a build
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [repo]
                      properties:
                        repo: {type: string}
                        app-id: {type: [string, 'null']}
                        public-download: {type: [boolean, 'null']}
                        build-log-url: {type: [string, 'null']}
              responses:
                '200': {$ref: '#/components/responses/Build'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
            get:
              summary: List builds (without app-id only builds without an app id)
              parameters: [{name: app-id, in: query, schema: {type: string}}]
              responses:
                '200': {description: Builds, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Build'}}}}}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
          /build/{id}:
            get:
              parameters: [{$ref: '#/components/parameters/id'}]
              responses:
                '200': {$ref: '#/components/responses/Build'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
          /build/{id}/extended:
            get:
              parameters: [{$ref: '#/components/parameters/id'}]
              responses:
                '200':
                  description: Build with refs and checks
                  content:
                    application/json:
                      schema:
                        type: object
                        required: [build, build_refs, checks]
                        properties:
                          build: {$ref: '#/components/schemas/Build'}
                          build_refs: {type: array, items: {$ref: '#/components/schemas/BuildRef'}}
                          checks: {type: array, items: {$ref: '#/components/schemas/Check'}}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
          /build/{id}/build_ref:
            post:
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [ref, commit]
                      properties:
                        ref: {type: string}
                        commit: {type: string}
                        build-log-url: {type: [string, 'null']}
              responses:
                '200': {description: The ref, headers: {Location: {schema: {type: string}}}, content: {application/json: {schema: {$ref: '#/components/schemas/BuildRef'}}}}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLargeOrLimit'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /build/{id}/build_ref/{ref_id}:
            get:
              parameters: [{$ref: '#/components/parameters/id'}, {name: ref_id, in: path, required: true, description: A 32-bit signed integer (as id), schema: {type: integer, format: int32}}]
              responses:
                '200': {description: The ref, content: {application/json: {schema: {$ref: '#/components/schemas/BuildRef'}}}}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
          /build/{id}/missing_objects:
            get:
              summary: Which objects the build still needs (JSON body on GET, often gzip-encoded)
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody:
                required: true
                content: {application/json: {schema: {type: object, required: [wanted], properties: {wanted: {type: array, items: {type: string}}}}}}
              responses:
                '200':
                  description: Missing object names, in request order
                  content: {application/json: {schema: {type: object, required: [missing], properties: {missing: {type: array, items: {type: string}}}}}}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /build/{id}/add_extra_ids:
            post:
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody:
                required: true
                content: {application/json: {schema: {type: object, required: [ids], properties: {ids: {type: array, items: {type: string}}}}}}
              responses:
                '200': {$ref: '#/components/responses/Build'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /build/{id}/upload:
            post:
              summary: Upload objects and delta parts (multipart, one file per part)
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody:
                required: true
                content:
                  multipart/form-data: {schema: {type: object, additionalProperties: {type: string, format: binary}}}
                  multipart/mixed: {schema: {type: object, additionalProperties: {type: string, format: binary}}}
              responses:
                '200': {description: Stored size of each part, content: {application/json: {schema: {type: array, items: {type: integer}}}}}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/LimitReached'}
          /build/{id}/commit:
            post:
              summary: Start the commit job
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        endoflife: {type: [string, 'null']}
                        endoflife_rebase: {type: [string, 'null']}
                        token_type: {type: [integer, 'null']}
              responses:
                '200': {$ref: '#/components/responses/JobWithLocation'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
            get:
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody: {$ref: '#/components/requestBodies/LogOffset'}
              responses:
                '200': {$ref: '#/components/responses/Job'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /build/{id}/publish:
            post:
              summary: Start the publish job
              parameters: [{$ref: '#/components/parameters/id'}]
              responses:
                '200': {$ref: '#/components/responses/JobWithLocation'}
                '400': {$ref: '#/components/responses/Refused'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
            get:
              parameters: [{$ref: '#/components/parameters/id'}]
              requestBody: {$ref: '#/components/requestBodies/LogOffset'}
              responses:
                '200': {$ref: '#/components/responses/Job'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /build/{id}/check/{check_name}/job:
            get:
              parameters: [{$ref: '#/components/parameters/id'}, {name: check_name, in: path, required: true, schema: {type: string}}]
              requestBody: {$ref: '#/components/requestBodies/LogOffset'}
              responses:
                '200': {$ref: '#/components/responses/Job'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /build/{id}/purge:
            post:
              parameters: [{$ref: '#/components/parameters/id'}]
              responses:
                '200': {description: Purged, content: {application/json: {schema: {type: object}}}}
                '400': {$ref: '#/components/responses/Refused'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '404': {$ref: '#/components/responses/NotFound'}
          /repo/{repo}/republish:
            post:
              parameters: [{name: repo, in: path, required: true, description: Not checked here; a republish into an unknown repo fails as a job, schema: {type: string}}]
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [app]
                      properties:
                        app: {type: string}
                        endoflife: {type: [string, 'null']}
                        endoflife_rebase: {type: [string, 'null']}
              responses:
                '200': {$ref: '#/components/responses/JobWithLocation'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
          /delta/upload/{repo}:
            post:
              summary: Upload delta parts straight into a main repository (0.4.2's remote delta workers; token sub delta)
              parameters: [{name: repo, in: path, required: true, schema: {type: string}}]
              requestBody:
                required: true
                content:
                  multipart/form-data: {schema: {type: object, additionalProperties: {type: string, format: binary}}}
                  multipart/mixed: {schema: {type: object, additionalProperties: {type: string, format: binary}}}
              responses:
                '200': {description: Stored size of each part, content: {application/json: {schema: {type: array, items: {type: integer}}}}}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
          /prune:
            post:
              summary: Start a prune job (0.5)
              requestBody:
                required: true
                content: {application/json: {schema: {type: object, required: [repo], properties: {repo: {type: string}}}}}
              responses:
                '200': {$ref: '#/components/responses/Job'}
                '400': {$ref: '#/components/responses/BadRequest'}
                '401': {$ref: '#/components/responses/Unauthorized'}
                '403': {$ref: '#/components/responses/Forbidden'}
                '413': {$ref: '#/components/responses/TooLarge'}
                '415': {$ref: '#/components/responses/UnsupportedEncoding'}
        components:
          securitySchemes:
            bearer: {type: http, scheme: bearer, bearerFormat: JWT}
          parameters:
            id:
              name: id
              in: path
              required: true
              description: >-
                A 32-bit signed integer. Any other value makes the route not match: 404 with an empty body and no content
                type (upstream's routing, api.md §1.1), which this document does not list next to the JSON not-found.
              schema: {type: integer, format: int32}
          requestBodies:
            LogOffset:
              content: {application/json: {schema: {type: object, properties: {log-offset: {type: [integer, 'null'], minimum: 0}}}}}
          responses:
            Refused:
              description: The build is not in a state that allows this (wrong-repo-state, wrong-published-state, generic-error)
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            Unauthorized:
              description: No token, or one that is malformed, wrongly signed, expired or revoked (invalid-token)
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            Forbidden:
              description: The token lacks the sub, scope, repo or prefix the operation needs (token-insufficient)
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            NotFound:
              description: The resource named in the path does not exist (not-found)
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            TooLarge:
              description: The (decoded) body exceeds the limit, 2 MiB for JSON, 10 MiB for missing_objects (plain text)
              content: {text/plain: {schema: {type: string}}}
            LimitReached:
              description: >-
                A configured upload limit of ours (max-object-bytes, max-build-bytes, max-build-refs) was reached: the Error
                object (generic-error); nothing of the offending file is kept. Never answered with the default configuration.
              content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
            TooLargeOrLimit:
              description: The body exceeds the JSON limit (plain text), or max-build-refs was reached (the Error object)
              content:
                text/plain: {schema: {type: string}}
                application/json: {schema: {$ref: '#/components/schemas/Error'}}
            UnsupportedEncoding:
              description: A Content-Encoding other than gzip, deflate or identity (plain text)
              content: {text/plain: {schema: {type: string}}}
            BadRequest:
              description: >-
                A refused request: the Error object (generic-error, wrong-repo-state, wrong-published-state), or a plain
                text reason when the body is not JSON of the expected shape or lacks a JSON content type (upstream's
                framework answers those before the handler runs, api.md §1.3)
              content:
                application/json: {schema: {$ref: '#/components/schemas/Error'}}
                text/plain: {schema: {type: string}}
            Build:
              description: A build
              headers: {Location: {schema: {type: string}}}
              content: {application/json: {schema: {$ref: '#/components/schemas/Build'}}}
            Job:
              description: A job
              content: {application/json: {schema: {$ref: '#/components/schemas/Job'}}}
            JobWithLocation:
              description: The started job
              headers: {Location: {schema: {type: string}}}
              content: {application/json: {schema: {$ref: '#/components/schemas/Job'}}}
          schemas:
            Timestamp:
              type: string
              pattern: '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?$'
            Error:
              type: object
              required: [status, error-type, message]
              properties:
                status: {type: integer}
                error-type: {enum: [internal-error, not-found, generic-error, wrong-repo-state, wrong-published-state, invalid-token, token-insufficient]}
                message: {type: string}
                current-state: {type: string}
                expected-state: {type: string}
            Build:
              type: object
              required: [id, created, repo_state, published_state, repo, extra_ids, app_id, public_download, build_log_url, token_name, token_type]
              properties:
                id: {type: integer}
                created: {$ref: '#/components/schemas/Timestamp'}
                repo_state: {type: integer, minimum: 0, maximum: 6}
                repo_state_reason: {type: string}
                published_state: {type: integer, minimum: 0, maximum: 3}
                published_state_reason: {type: string}
                commit_job_id: {type: integer}
                publish_job_id: {type: integer}
                repo: {type: string}
                extra_ids: {type: array, items: {type: string}}
                app_id: {type: [string, 'null']}
                public_download: {type: boolean}
                build_log_url: {type: [string, 'null']}
                token_name: {type: [string, 'null']}
                token_type: {type: [string, 'null']}
                token_branches: {type: [array, 'null'], items: {type: string}}
            BuildRef:
              type: object
              required: [id, build_id, ref_name, commit, build_log_url]
              properties:
                id: {type: integer}
                build_id: {type: integer}
                ref_name: {type: string}
                commit: {type: string}
                build_log_url: {type: [string, 'null']}
            Check:
              type: object
              required: [check_name, build_id, job_id, status, status_reason, results]
              properties:
                check_name: {type: string}
                build_id: {type: integer}
                job_id: {type: integer}
                status: {type: integer, minimum: 0, maximum: 4}
                status_reason: {type: [string, 'null']}
                results: {type: [string, 'null']}
            Job:
              type: object
              required: [id, kind, status, contents, log, start_after, repo]
              properties:
                id: {type: integer}
                kind: {type: integer, minimum: 0, maximum: 5}
                status: {type: integer, minimum: 0, maximum: 3}
                contents: {type: string, description: a JSON document encoded as a string}
                results: {type: string, description: a JSON document encoded as a string; absent (not null) while unset}
                log: {type: string}
                start_after:
                  oneOf:
                    - {type: 'null'}
                    - type: object
                      required: [secs_since_epoch, nanos_since_epoch]
                      properties: {secs_since_epoch: {type: integer}, nanos_since_epoch: {type: integer}}
                repo: {type: [string, 'null']}
            TokenIDs:
              type: object
              required: [token_ids]
              properties: {token_ids: {type: array, items: {type: string}}}
            TokenUsage:
              type: object
              required: [token_id, expires, last_used, revoked_at]
              properties:
                token_id: {type: string}
                expires: {oneOf: [{$ref: '#/components/schemas/Timestamp'}, {type: 'null'}]}
                last_used: {oneOf: [{$ref: '#/components/schemas/Timestamp'}, {type: 'null'}]}
                revoked_at: {oneOf: [{$ref: '#/components/schemas/Timestamp'}, {type: 'null'}]}
        """#
}
