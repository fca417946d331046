//! Wire parsing against the spec's example exchanges (`shared/graph-spec/examples/*.json`, copied
//! verbatim below so the tests need nothing outside the crate), plus the pure retry/token policy.

use ctap::webauthn::{Attestation, CreationOptions, CredProtect, ResidentKey, UserVerification};
use graph::auth::refresh_due;
use graph::creation_options::{
    decode_base64_lenient, decode_credential_id, parse_challenge_timeout, parse_creation_options,
};
use graph::retry::{parse_retry_after, Decision, Idempotency, Outcome, RetryPolicy};
use graph::wire::*;
use graph::{Error, IssuedOptions, OptionsError};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// shared/graph-spec/examples/http-examples.json
const HTTP_EXAMPLES: &str = r##"{
  "_comment": [
    "Example HTTP exchanges for the fake server / client tests (synthetic ids).",
    "Shapes: Microsoft Graph & identity-platform docs + observed real payloads (sources in ../graph-beta-fido2.openapi.yaml, ../identity-platform-token.openapi.yaml).",
    "Error message strings marked 'observed' are verbatim from public reports; others paraphrase documented shapes."
  ],
  "token.client_credentials.success": {
    "status": 200,
    "headers": {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store, no-cache"
    },
    "body": {
      "token_type": "Bearer",
      "expires_in": 3599,
      "ext_expires_in": 3599,
      "access_token": "eyJ0eXAiOiJKV1QiLCJub25jZSI6Ii4uLiJ9.e30.c2ln"
    }
  },
  "token.client_credentials.invalid_secret (observed shape)": {
    "status": 401,
    "body": {
      "error": "invalid_client",
      "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'.\r\nTrace ID: 6d1f0b8e-0000-0000-0000-000000000000\r\nCorrelation ID: 2b1e7a44-0000-0000-0000-000000000000\r\nTimestamp: 2026-08-23 10:00:00Z",
      "error_codes": [
        7000215
      ],
      "timestamp": "2026-08-23 10:00:00Z",
      "trace_id": "6d1f0b8e-0000-0000-0000-000000000000",
      "correlation_id": "2b1e7a44-0000-0000-0000-000000000000",
      "error_uri": "https://login.microsoftonline.com/error?code=7000215"
    }
  },
  "token.invalid_scope (docs shape)": {
    "status": 400,
    "body": {
      "error": "invalid_scope",
      "error_description": "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope https://foo.microsoft.com/.default is not valid.\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: 2026-08-23 10:00:00Z",
      "error_codes": [
        70011
      ],
      "timestamp": "2026-08-23 10:00:00Z",
      "trace_id": "255d1aef-8c98-452f-ac51-23d051240864",
      "correlation_id": "fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"
    }
  },
  "devicecode.success": {
    "status": 200,
    "body": {
      "user_code": "KTQ7X9YRP",
      "device_code": "DAQABAAEAAAD--DLA3VO7QrddgJg7WevrDEV...",
      "verification_uri": "https://microsoft.com/devicelogin",
      "expires_in": 900,
      "interval": 5,
      "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code KTQ7X9YRP to authenticate."
    }
  },
  "devicecode.poll.pending (observed shape)": {
    "status": 400,
    "body": {
      "error": "authorization_pending",
      "error_description": "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: 2026-08-23 10:01:00Z",
      "error_codes": [
        70016
      ],
      "timestamp": "2026-08-23 10:01:00Z",
      "trace_id": "5810b037-c97b-48b8-95c3-fa5e39754302",
      "correlation_id": "543970af-30fa-446a-b99f-946c4360a36e",
      "error_uri": "https://login.microsoftonline.com/error?code=70016"
    }
  },
  "devicecode.poll.expired": {
    "status": 400,
    "body": {
      "error": "expired_token",
      "error_description": "AADSTS70019: Verification code expired.",
      "error_codes": [
        70019
      ]
    }
  },
  "devicecode.poll.success": {
    "status": 200,
    "body": {
      "token_type": "Bearer",
      "scope": "https://graph.microsoft.com/UserAuthMethod-Passkey.ReadWrite.All https://graph.microsoft.com/GroupMember.Read.All",
      "expires_in": 4491,
      "ext_expires_in": 4491,
      "access_token": "eyJ0eXAi...",
      "refresh_token": "1.AXkA..."
    }
  },
  "groups.byDisplayName": {
    "request": "GET https://graph.microsoft.com/beta/groups?$filter=displayName%20eq%20'FIDO%20Provisioning'&$select=id,displayName",
    "status": 200,
    "body": {
      "@odata.context": "https://graph.microsoft.com/beta/$metadata#groups(id,displayName)",
      "value": [
        {
          "id": "0b5f7c1a-3e2d-4c8b-9a61-7d2e4f3b9c10",
          "displayName": "FIDO Provisioning"
        }
      ]
    }
  },
  "groups.byDisplayName.none": {
    "status": 200,
    "body": {
      "@odata.context": "https://graph.microsoft.com/beta/$metadata#groups(id,displayName)",
      "value": []
    }
  },
  "groups.members.page1": {
    "request": "GET https://graph.microsoft.com/beta/groups/0b5f7c1a-3e2d-4c8b-9a61-7d2e4f3b9c10/members?$select=id,userPrincipalName,displayName,accountEnabled&$top=3",
    "status": 200,
    "body": {
      "@odata.context": "https://graph.microsoft.com/beta/$metadata#directoryObjects(id,userPrincipalName,displayName,accountEnabled)",
      "@odata.nextLink": "https://graph.microsoft.com/beta/groups/0b5f7c1a-3e2d-4c8b-9a61-7d2e4f3b9c10/members?$select=id,userPrincipalName,displayName,accountEnabled&$top=3&$skiptoken=RFNwdAIAAQAAACpHcm91cF8wYjVmN2MxYS0zZTJkLTRjOGI",
      "value": [
        {
          "@odata.type": "#microsoft.graph.user",
          "id": "5f2c9c1e-0d5b-4b1e-9f0e-2b7c6a1d8e44",
          "userPrincipalName": "adele.vance@contoso.example",
          "displayName": "Adele Vance",
          "accountEnabled": true
        },
        {
          "@odata.type": "#microsoft.graph.device",
          "id": "9a0c2f51-6e7d-4b3a-8c1f-0e5d4a3b2c19",
          "displayName": "KIOSK-07",
          "accountEnabled": true
        },
        {
          "@odata.type": "#microsoft.graph.group",
          "id": "c3d1e9b2-7f6a-4e58-b0d4-91a2c3e4f5a6",
          "displayName": "FIDO Provisioning - Wave 2"
        }
      ]
    }
  },
  "groups.members.page2": {
    "status": 200,
    "body": {
      "@odata.context": "https://graph.microsoft.com/beta/$metadata#directoryObjects(id,userPrincipalName,displayName,accountEnabled)",
      "value": [
        {
          "@odata.type": "#microsoft.graph.servicePrincipal",
          "id": "7e4b1a90-2c3d-4e5f-8a6b-9c0d1e2f3a4b",
          "displayName": "Provisioning App",
          "accountEnabled": true
        },
        {
          "@odata.type": "#microsoft.graph.orgContact",
          "id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
          "displayName": "External Vendor"
        },
        {
          "@odata.type": "#microsoft.graph.user",
          "id": "2d8e6f4a-1b3c-4d5e-9f0a-7b6c5d4e3f21",
          "userPrincipalName": "megan.bowen@contoso.example",
          "displayName": "Megan Bowen",
          "accountEnabled": false
        }
      ]
    }
  },
  "groups.transitiveMembers (nested group flattened; the group item itself is also returned)": {
    "status": 200,
    "body": {
      "value": [
        {
          "@odata.type": "#microsoft.graph.user",
          "id": "5f2c9c1e-0d5b-4b1e-9f0e-2b7c6a1d8e44",
          "userPrincipalName": "adele.vance@contoso.example"
        },
        {
          "@odata.type": "#microsoft.graph.group",
          "id": "c3d1e9b2-7f6a-4e58-b0d4-91a2c3e4f5a6"
        },
        {
          "@odata.type": "#microsoft.graph.user",
          "id": "8c7b6a59-4d3e-4f2a-b1c0-d9e8f7a6b5c4",
          "userPrincipalName": "lee.gu@contoso.example"
        }
      ]
    }
  },
  "fido2Methods.list": {
    "request": "GET https://graph.microsoft.com/beta/users/5f2c9c1e-0d5b-4b1e-9f0e-2b7c6a1d8e44/authentication/fido2Methods",
    "status": 200,
    "body": {
      "@odata.context": "https://graph.microsoft.com/beta/$metadata#users('5f2c9c1e-0d5b-4b1e-9f0e-2b7c6a1d8e44')/authentication/fido2Methods",
      "@microsoft.graph.tips": "Use $select to choose only the properties your app needs, as this can lead to performance improvements. For example: GET users('<key>')/authentication/fido2Methods?$select=aaGuid,attestationCertificates",
      "value": [
        {
          "id": "-2_GRUg2-HYz6_1YG4YRAQ2",
          "displayName": "Red key",
          "createdDateTime": "2020-08-10T06:44:09Z",
          "aaGuid": "2fc0579f-8113-47ea-b116-555a8db9202a",
          "model": "NFC key",
          "attestationCertificates": [
            "dbe793efdf1945e2df25d93653a1e8a3268a9075"
          ],
          "attestationLevel": "attested"
        },
        {
          "id": "_jpuR-TGZgk6aQCLF3BQjA2",
          "displayName": "Blue key",
          "createdDateTime": "2020-08-10T06:25:38Z",
          "aaGuid": "c5ef55ff-ad9a-4b9f-b580-ababafe026d0",
          "model": "USB key",
          "attestationCertificates": [
            "b479e7652167f574296e76bfa76731b8ccd22ed7"
          ],
          "attestationLevel": "attested",
          "passkeyType": "deviceBound"
        }
      ]
    }
  },
  "fido2Methods.delete": {
    "request": "DELETE https://graph.microsoft.com/beta/users/5f2c9c1e-0d5b-4b1e-9f0e-2b7c6a1d8e44/authentication/fido2Methods/_jpuR-TGZgk6aQCLF3BQjA2",
    "status": 204,
    "body": null
  },
  "creationOptions.betaDocExampleShape (wrapped in value - docs only)": {
    "status": 200,
    "body": {
      "value": {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#microsoft.graph.webauthnCredentialCreationOptions",
        "challengeTimeoutDateTime": "2024-08-14T16:29:58Z",
        "publicKey": {
          "challenge": "ZXlKaGJHY2lPaUpTVTBFdFQwRkZVQzB5TlRZaUxDSmxibU1pT2lKQk1qVTJSME5OSWl3aWVEVmpJanBiSWsxSlNVUmhSRU5EUVd4",
          "timeout": 0,
          "attestation": "direct",
          "rp": {
            "id": "login.microsoft.com",
            "name": "Microsoft"
          },
          "user": {
            "id": "T0Y6Ehqp2EfQP0iExdt54DFwdWuaH7qIZbZGpOc92RGnvbXyRPvU-8AOp9r1T7Cebfc3",
            "displayName": "Kim User",
            "name": "kimuser@contoso.com"
          },
          "pubKeyCredParams": [
            {
              "type": "public-key",
              "alg": -7
            },
            {
              "type": "public-key",
              "alg": -257
            }
          ],
          "excludeCredentials": [
            {
              "id": "0S64X8KwFmCeJjHzK1oE/39T+JYhfYbhFurwOxMMjtvRWc/sLYq8AMJVuva823XQ",
              "type": "public-key",
              "transports": []
            }
          ],
          "authenticatorSelection": {
            "authenticatorAttachment": "cross-platform",
            "requireResidentKey": true,
            "userVerification": "required"
          },
          "extensions": {
            "hmacCreateSecret": true,
            "enforceCredentialProtectionPolicy": true,
            "credentialProtectionPolicy": "userVerificationOptional"
          }
        }
      }
    }
  },
  "errors": {
    "fido2.post.missingEntity (observed, msgraph-beta-sdk-dotnet#941)": {
      "status": 400,
      "body": {
        "error": {
          "code": "badRequest",
          "message": "The request is missing a fido2AuthenticationMethod entity with a displayName and publicKeyCredential in the request body. All other properties will be ignored.",
          "innerError": {
            "message": "The request is missing a fido2AuthenticationMethod entity with a displayName and publicKeyCredential in the request body. All other properties will be ignored.",
            "date": "2024-12-01T12:43:54",
            "request-id": "e279fa99-6eba-488e-8d8e-04d6ac5c7efc",
            "client-request-id": "3084846a-c2d0-02db-59ab-7a574bcbd418"
          }
        }
      }
    },
    "creationOptions.selfService (observed, webauthn-interop#13/#33)": {
      "status": 405,
      "headers": {
        "request-id": "b8090437-0868-45d4-a511-0977e3237ee0",
        "client-request-id": "99dda08c-e484-44a8-a0c5-6bd46c4e8b34",
        "x-ms-ags-diagnostic": "{\"ServerInfo\":{\"DataCenter\":\"Germany West Central\",\"Slice\":\"E\",\"Ring\":\"4\",\"ScaleUnit\":\"004\",\"RoleInstance\":\"FR2PEPF00000390\"}}"
      },
      "body": {
        "error": {
          "code": "methodNotAllowed",
          "message": "The method is not supported for this URL.",
          "innerError": {
            "message": "The method is not supported for this URL.",
            "date": "2025-12-08T16:35:25",
            "request-id": "b8090437-0868-45d4-a511-0977e3237ee0",
            "client-request-id": "99dda08c-e484-44a8-a0c5-6bd46c4e8b34"
          }
        }
      }
    },
    "directory.userNotFound": {
      "status": 404,
      "body": {
        "error": {
          "code": "Request_ResourceNotFound",
          "message": "Resource 'nobody@contoso.example' does not exist or one of its queried reference-property objects are not present.",
          "innerError": {
            "date": "2026-08-23T10:00:00",
            "request-id": "00000000-0000-0000-0000-000000000001",
            "client-request-id": "00000000-0000-0000-0000-000000000002"
          }
        }
      }
    },
    "directory.insufficientPrivileges": {
      "status": 403,
      "body": {
        "error": {
          "code": "Authorization_RequestDenied",
          "message": "Insufficient privileges to complete the operation.",
          "innerError": {
            "date": "2026-08-23T10:00:00",
            "request-id": "00000000-0000-0000-0000-000000000003",
            "client-request-id": "00000000-0000-0000-0000-000000000004"
          }
        }
      }
    },
    "graph.badToken": {
      "status": 401,
      "headers": {
        "WWW-Authenticate": "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""
      },
      "body": {
        "error": {
          "code": "InvalidAuthenticationToken",
          "message": "Access token has expired or is not yet valid.",
          "innerError": {
            "date": "2026-08-23T10:00:00",
            "request-id": "00000000-0000-0000-0000-000000000005",
            "client-request-id": "00000000-0000-0000-0000-000000000006"
          }
        }
      }
    },
    "directory.pageSizeOutOfRange (observed)": {
      "status": 400,
      "body": {
        "error": {
          "code": "Request_UnsupportedQuery",
          "message": "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
          "innerError": {
            "date": "2026-08-23T10:00:00",
            "request-id": "00000000-0000-0000-0000-000000000007",
            "client-request-id": "00000000-0000-0000-0000-000000000008"
          }
        }
      }
    },
    "graph.throttled (docs sample)": {
      "status": 429,
      "headers": {
        "Retry-After": "2.128",
        "Content-Type": "application/json"
      },
      "body": {
        "error": {
          "code": "TooManyRequests",
          "innerError": {
            "code": "429",
            "date": "2020-08-18T12:51:51",
            "message": "Please retry after",
            "request-id": "94fb3b52-452a-4535-a601-69e0a90e3aa2",
            "status": "429"
          },
          "message": "Please retry again later."
        }
      }
    },
    "directory.throttled": {
      "status": 429,
      "headers": {
        "Retry-After": "150",
        "x-ms-throttle-scope": "Tenant_Application/ReadWrite/11111111-2222-3333-4444-555555555555/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "x-ms-throttle-information": "ResourceUnitLimitExceeded"
      },
      "body": {
        "error": {
          "code": "Request_ThrottledTemporarily",
          "message": "Your request is throttled temporarily. Please try after 150 seconds.",
          "innerError": {
            "date": "2026-08-23T10:00:00",
            "request-id": "00000000-0000-0000-0000-000000000009",
            "client-request-id": "00000000-0000-0000-0000-00000000000a"
          }
        }
      }
    },
    "graph.gatewayTimeout": {
      "status": 504,
      "headers": {
        "Content-Type": "text/html"
      },
      "body": "<html><body>Gateway Timeout</body></html>",
      "_note": "5xx bodies are not guaranteed JSON"
    }
  }
}"##;

/// shared/graph-spec/examples/fido2-registration-fixture.json
const FIXTURE: &str = r##"{
  "_comment": [
    "Synthetic but internally consistent fixture set (generated 2026-08-23).",
    "Shapes follow Microsoft Graph beta docs + observed real responses (see ../graph-beta-fido2.openapi.yaml).",
    "clientDataJSON.challenge == creationOptions.publicKey.challenge; authData.rpIdHash == SHA-256('login.microsoft.com');",
    "authData credentialId == base64url-decode(publicKeyCredential.id); attestation fmt 'none' (so attestationLevel notAttested).",
    "excludeCredentials deliberately mixes the three id encodings seen in production: std base64 w/ padding, base64url+pad-digit, base64url.",
    "Method id = base64url(credentialId) with padding-count digit, matching the documented list examples' format."
  ],
  "creationOptionsResponse": {
    "@odata.context": "https://graph.microsoft.com/beta/$metadata#microsoft.graph.webauthnCredentialCreationOptions",
    "challengeTimeoutDateTime": "2026-08-23T10:15:00Z",
    "publicKey": {
      "rp": {
        "id": "login.microsoft.com",
        "name": "Microsoft"
      },
      "user": {
        "id": "T0Y6x-6HGXlUC4CTuayKSITv4lw7BbCJjOns_H6Jl4JglKH73qrdpgbtM--ygDel",
        "name": "adele.vance@contoso.example",
        "displayName": "Adele Vance"
      },
      "challenge": "ZXlKaGJHY2lPaUpTVTBFdFQwRkZVQzB5TlRZaUxDSmxibU1pT2lKQk1qVTJSME5OSW4wLm8tQl93aVBGU193TzlrMmZub2E4UlUwblktQ3RfZFFFbUtseHAxQUIyWkV2Wkg4amU0Z3lmM1ZyQ3ZvY21iRTczc2VudVlFZUR4STVTaEFSR2xnampFWTdXVktiWU5GcTBJUzN0WVRqQm91b3gxbWdBdGptZDdSY1lHZXVmSGpSLkpXZFRKRDhCRHFhUTBmbGUuLTBXMUZtM25QNGVrSFZ6S29OMnlSTVo0TGxOb2l5ajJYem85bE9ES05lY0FjWExSZkJRd1lEUWxVS21KUmQwVi5Lb050TVRKNW16RXo1ajIwM2JVbFVn",
      "pubKeyCredParams": [
        {
          "type": "public-key",
          "alg": -7
        },
        {
          "type": "public-key",
          "alg": -257
        }
      ],
      "timeout": 60000,
      "excludeCredentials": [
        {
          "type": "public-key",
          "id": "YidohH/WzJ/UCZzieig9K3cTjWVKjVc3fV6AK4Sy5nYlVXnduA2c3LQI/Um1kzQT",
          "transports": []
        },
        {
          "type": "public-key",
          "id": "YqsVwHo6UD7lzEV8xRNrfzzzCYOXPQGsQtfv_lGgxaE1",
          "transports": [
            "usb"
          ]
        },
        {
          "type": "public-key",
          "id": "L-pqCQL3U2NlFYi8FhxDyA",
          "transports": [
            "usb",
            "nfc"
          ]
        }
      ],
      "authenticatorSelection": {
        "authenticatorAttachment": "cross-platform",
        "requireResidentKey": true,
        "userVerification": "required"
      },
      "attestation": "direct",
      "extensions": {
        "hmacCreateSecret": true,
        "enforceCredentialProtectionPolicy": true,
        "credentialProtectionPolicy": "userVerificationOptional"
      }
    }
  },
  "decoded": {
    "challengeAsciiPrefix": "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJB",
    "userHandleHexPrefix": "4f463a",
    "clientDataJSON": {
      "type": "webauthn.create",
      "challenge": "ZXlKaGJHY2lPaUpTVTBFdFQwRkZVQzB5TlRZaUxDSmxibU1pT2lKQk1qVTJSME5OSW4wLm8tQl93aVBGU193TzlrMmZub2E4UlUwblktQ3RfZFFFbUtseHAxQUIyWkV2Wkg4amU0Z3lmM1ZyQ3ZvY21iRTczc2VudVlFZUR4STVTaEFSR2xnampFWTdXVktiWU5GcTBJUzN0WVRqQm91b3gxbWdBdGptZDdSY1lHZXVmSGpSLkpXZFRKRDhCRHFhUTBmbGUuLTBXMUZtM25QNGVrSFZ6S29OMnlSTVo0TGxOb2l5ajJYem85bE9ES05lY0FjWExSZkJRd1lEUWxVS21KUmQwVi5Lb050TVRKNW16RXo1ajIwM2JVbFVn",
      "origin": "https://login.microsoft.com",
      "crossOrigin": false
    },
    "credentialIdHex": "fc6dde500485929e9f1e6294e69468cb1989f4ea060d53596fe6a9d4212417e8f6de279dc4c917106593e3ebf089d2f3b77fa253d01b3b73f3a812ac8434a6c5",
    "excludeCredentialIdsHex": [
      "622768847fd6cc9fd4099ce27a283d2b77138d654a8d57377d5e802b84b2e676255579ddb80d9cdcb408fd49b5933413",
      "62ab15c07a3a503ee5cc457cc5136b7f3cf30983973d01ac42d7effe51a0c5a1",
      "2fea6a0902f75363651588bc161c43c8"
    ]
  },
  "postRequestBody": {
    "displayName": "YubiKey 5 NFC 12345678",
    "publicKeyCredential": {
      "id": "_G3eUASFkp6fHmKU5pRoyxmJ9OoGDVNZb-ap1CEkF-j23iedxMkXEGWT4-vwidLzt3-iU9AbO3PzqBKshDSmxQ",
      "response": {
        "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiWlhsS2FHSkhZMmxQYVVwVFZUQkZkRlF3UmtaVlF6QjVUbFJaYVV4RFNteGliVTFwVDJsS1FrMXFWVEpTTUU1T1NXNHdMbTh0UWw5M2FWQkdVMTkzVHpsck1tWnViMkU0VWxVd2Jsa3RRM1JmWkZGRmJVdHNlSEF4UVVJeVdrVjJXa2c0YW1VMFozbG1NMVp5UTNadlkyMWlSVGN6YzJWdWRWbEZaVVI0U1RWVGFFRlNSMnhuYW1wRldUZFhWa3RpV1U1R2NUQkpVek4wV1ZScVFtOTFiM2d4YldkQmRHcHRaRGRTWTFsSFpYVm1TR3BTTGtwWFpGUktSRGhDUkhGaFVUQm1iR1V1TFRCWE1VWnRNMjVRTkdWclNGWjZTMjlPTW5sU1RWbzBUR3hPYjJsNWFqSlllbTg1YkU5RVMwNWxZMEZqV0V4U1prSlJkMWxFVVd4VlMyMUtVbVF3Vmk1TGIwNTBUVlJLTlcxNlJYbzFhakl3TTJKVmJGVm4iLCJvcmlnaW4iOiJodHRwczovL2xvZ2luLm1pY3Jvc29mdC5jb20iLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjfNWye1KCTIblpXx6vkYID8bVfaJ2mH7yWGEwVfdpoDIHFAAAAAO6IKHlyHEkTl3U9_M6XByoAQPxt3lAEhZKenx5ilOaUaMsZifTqBg1TWW_mqdQhJBfo9t4nncTJFxBlk-Pr8InS87d_olPQGztz86gSrIQ0psWlAQIDJiABIVggI6uI7fk14xy1APfjdGPkBU6JqD4aGmJXahX8CbmU7xIiWCDhKK-InVrggNVmEEABIk_46oHCdk55zEphRRDKujpgYKJrY3JlZFByb3RlY3QBa2htYWMtc2VjcmV09Q"
      },
      "clientExtensionResults": {}
    }
  },
  "post201ResponseBody": {
    "@odata.context": "https://graph.microsoft.com/beta/$metadata#users('5f2c9c1e-0d5b-4b1e-9f0e-2b7c6a1d8e44')/authentication/fido2Methods/$entity",
    "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
    "id": "_G3eUASFkp6fHmKU5pRoyxmJ9OoGDVNZb-ap1CEkF-j23iedxMkXEGWT4-vwidLzt3-iU9AbO3PzqBKshDSmxQ2",
    "displayName": "YubiKey 5 NFC 12345678",
    "createdDateTime": "2026-08-23T10:07:41Z",
    "aaGuid": "ee882879-721c-4913-9775-3dfcce97072a",
    "model": "YubiKey 5 Series with NFC",
    "attestationCertificates": [],
    "attestationLevel": "notAttested",
    "passkeyType": "deviceBound"
  }
}"##;

fn example(key: &str) -> Value {
    let all: Value = serde_json::from_str(HTTP_EXAMPLES).expect("examples parse");
    all.get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no example {key}"))
}

fn body(key: &str) -> Vec<u8> {
    serde_json::to_vec(&example(key)["body"]).expect("serialize")
}

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("fixture parses")
}

#[test]
fn token_success_and_expires_in_as_string() {
    let t: TokenResponse =
        serde_json::from_slice(&body("token.client_credentials.success")).expect("token");
    assert_eq!(t.expires_in, 3599);
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(format!("{:?}", t.access_token), "***");
    assert!(!format!("{t:?}").contains("eyJ0eXAi"));

    let s: TokenResponse = serde_json::from_value(
        json!({"token_type":"Bearer","expires_in":"3599","access_token":"abc"}),
    )
    .expect("string expires_in");
    assert_eq!(s.expires_in, 3599);
    let bad = serde_json::from_value::<TokenResponse>(
        json!({"token_type":"Bearer","expires_in":"soon","access_token":"abc"}),
    );
    assert!(bad.is_err());
}

#[test]
fn token_error_bad_secret_gives_operator_text_and_ids() {
    let e: OAuthErrorBody = serde_json::from_slice(&body(
        "token.client_credentials.invalid_secret (observed shape)",
    ))
    .expect("oauth error");
    let a = e.into_auth_error(401);
    assert_eq!(a.aadsts, Some(7000215));
    assert_eq!(a.error, "invalid_client");
    assert_eq!(
        a.trace_id.as_deref(),
        Some("6d1f0b8e-0000-0000-0000-000000000000")
    );
    assert_eq!(
        a.correlation_id.as_deref(),
        Some("2b1e7a44-0000-0000-0000-000000000000")
    );
    assert!(a
        .description
        .starts_with("AADSTS7000215: Invalid client secret"));
    assert!(!a.description.contains("Trace ID"));
    let text = Error::Auth(Box::new(a)).to_string();
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("secret VALUE"), "{text}");
    assert!(
        text.contains("6d1f0b8e-0000-0000-0000-000000000000"),
        "{text}"
    );
    assert!(
        text.contains("2b1e7a44-0000-0000-0000-000000000000"),
        "{text}"
    );
}

#[test]
fn token_error_codes_map_to_remedies() {
    let a = serde_json::from_slice::<OAuthErrorBody>(&body("token.invalid_scope (docs shape)"))
        .expect("parse")
        .into_auth_error(400);
    assert_eq!(a.aadsts, Some(70011));
    assert!(a.remedy().contains("scope"));
    assert_eq!(
        a.trace_id.as_deref(),
        Some("255d1aef-8c98-452f-ac51-23d051240864")
    );
    // No error_codes: the AADSTS number comes from the description.
    let b = OAuthErrorBody {
        error: "invalid_client".into(),
        error_description: Some(
            "AADSTS7000222: The provided client secret keys are expired.\r\nTrace ID: t1\r\nCorrelation ID: c1".into(),
        ),
        ..Default::default()
    }
    .into_auth_error(401);
    assert_eq!(b.aadsts, Some(7000222));
    assert_eq!(b.trace_id.as_deref(), Some("t1"));
    assert_eq!(b.correlation_id.as_deref(), Some("c1"));
    assert!(b.remedy().contains("expired"));
    for (code, word) in [
        (700027, "certificate"),
        (700016, "not found in this tenant"),
        (90002, "tenant was not found"),
        (65001, "consent"),
    ] {
        let e = OAuthErrorBody {
            error: "x".into(),
            error_codes: vec![code],
            ..Default::default()
        }
        .into_auth_error(400);
        assert!(e.remedy().contains(word), "{code}: {}", e.remedy());
    }
}

#[test]
fn groups_by_name_one_and_none() {
    let one: Page<Group> = serde_json::from_slice(&body("groups.byDisplayName")).expect("page");
    assert_eq!(one.value.len(), 1);
    assert_eq!(one.value[0].id, "0b5f7c1a-3e2d-4c8b-9a61-7d2e4f3b9c10");
    assert!(one.next_link.is_none());
    let none: Page<Group> =
        serde_json::from_slice(&body("groups.byDisplayName.none")).expect("page");
    assert!(none.value.is_empty());
}

#[test]
fn members_mixed_types_keep_only_users() {
    let p1: Page<DirectoryObject> =
        serde_json::from_slice(&body("groups.members.page1")).expect("p1");
    let p2: Page<DirectoryObject> =
        serde_json::from_slice(&body("groups.members.page2")).expect("p2");
    assert!(p1
        .next_link
        .as_deref()
        .is_some_and(|l| l.contains("$skiptoken=")));
    assert!(p2.next_link.is_none());
    let mut m = Members::default();
    for o in p1.value.into_iter().chain(p2.value) {
        m.push(o);
    }
    let upns: Vec<_> = m
        .users
        .iter()
        .map(|u| u.user_principal_name.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        upns,
        ["adele.vance@contoso.example", "megan.bowen@contoso.example"]
    );
    assert_eq!(m.users[1].account_enabled, Some(false));
    let skipped: Vec<_> = m
        .skipped
        .iter()
        .map(|s| match &s.reason {
            SkipReason::NotAUser(Some(t)) => t.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        skipped,
        [
            "#microsoft.graph.device",
            "#microsoft.graph.group",
            "#microsoft.graph.servicePrincipal",
            "#microsoft.graph.orgContact"
        ]
    );
}

#[test]
fn transitive_members_and_guests_and_duplicates() {
    let p: Page<DirectoryObject> = serde_json::from_slice(&body(
        "groups.transitiveMembers (nested group flattened; the group item itself is also returned)",
    ))
    .expect("page");
    // Duplicates (a user reached through two nested groups) are dropped.
    let doubled = p.value.iter().cloned().chain(p.value.iter().cloned());
    let mut m = Members::from_objects(doubled);
    m.push(
        serde_json::from_value(json!({"@odata.type":"#microsoft.graph.user","id":"g1",
            "userPrincipalName":"guest_x#EXT#@contoso.example","userType":"Guest"}))
        .expect("guest"),
    );
    m.push(serde_json::from_value(json!({"id":"no-type"})).expect("untyped"));
    assert_eq!(m.users.len(), 2);
    assert_eq!(m.skipped.len(), 3);
    assert_eq!(m.skipped[1].reason, SkipReason::Guest);
    assert_eq!(m.skipped[2].reason, SkipReason::NotAUser(None));
}

#[test]
fn fido2_methods_list_and_id_recognition() {
    let p: Page<Fido2Method> = serde_json::from_slice(&body("fido2Methods.list")).expect("list");
    assert_eq!(p.value.len(), 2);
    assert_eq!(p.value[1].passkey_type.as_deref(), Some("deviceBound"));
    assert_eq!(p.value[0].attestation_certificates.len(), 1);
    // "_jpuR-TGZgk6aQCLF3BQjA2" = base64url(16-byte credential id) + "2" pad chars.
    let cred = decode_base64_lenient("_jpuR-TGZgk6aQCLF3BQjA").expect("b64");
    assert_eq!(cred.len(), 16);
    assert_eq!(method_id_for_credential(&cred), "_jpuR-TGZgk6aQCLF3BQjA2");
    assert!(method_id_matches_credential(&p.value[1].id, &cred));
    assert!(!method_id_matches_credential(&p.value[0].id, &cred));
    assert!(method_id_matches_credential(
        "_jpuR-TGZgk6aQCLF3BQjA",
        &cred
    ));
    assert!(!method_id_matches_credential("", &[]));
}

/// The neutral form of the fixture's options, as the ctap crate's tests use them.
const NEUTRAL_FIXTURE: &str = include_str!("../../ctap/tests/data/creation-options.json");

#[test]
fn creation_options_top_level_real_shape() {
    let f = fixture();
    let raw = serde_json::to_vec(&f["creationOptionsResponse"]).expect("ser");
    let IssuedOptions {
        options: o,
        expires_at,
    } = parse_creation_options(&raw, 200).expect("parse");
    // Every option converted, exactly as the ctap crate's fixture holds them: the padded
    // standard-base64 ids decode once, the pad-digit id both ways.
    let neutral: CreationOptions = serde_json::from_str(NEUTRAL_FIXTURE).expect("neutral");
    assert_eq!(o, neutral);
    assert_eq!(o.rp.id, "login.microsoft.com");
    assert_eq!(o.user.name.as_deref(), Some("adele.vance@contoso.example"));
    assert_eq!(o.user.display_name.as_deref(), Some("Adele Vance"));
    assert_eq!(
        Some(o.user.id.clone()),
        decode_base64_lenient("T0Y6x-6HGXlUC4CTuayKSITv4lw7BbCJjOns_H6Jl4JglKH73qrdpgbtM--ygDel")
    );
    assert_eq!(&o.user.id[..3], b"OF:");
    assert_eq!(o.algorithms, [-7, -257]);
    assert_eq!(o.resident_key, ResidentKey::Required);
    assert_eq!(o.user_verification, UserVerification::Required);
    assert_eq!(o.attestation, Attestation::Direct);
    assert_eq!(
        o.extensions.credential_protection_policy,
        Some(CredProtect::UserVerificationOptional)
    );
    assert!(o.extensions.enforce_credential_protection_policy && o.extensions.hmac_create_secret);
    assert_eq!(
        o.exclude_credentials
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        [48, 32, 33, 16]
    );
    let exp = expires_at.expect("time");
    assert_eq!(
        exp.duration_since(SystemTime::UNIX_EPOCH)
            .expect("epoch")
            .as_secs(),
        1_787_480_100
    );
    // The challenge is kept as Graph wrote it (clientDataJSON carries it verbatim).
    assert_eq!(
        o.challenge,
        f["creationOptionsResponse"]["publicKey"]["challenge"]
    );
    let challenge = decode_base64_lenient(&o.challenge).expect("challenge");
    let prefix = f["decoded"]["challengeAsciiPrefix"].as_str().expect("str");
    assert!(challenge.starts_with(prefix.as_bytes()));
}

#[test]
fn creation_options_wrapped_in_value_docs_shape() {
    let raw = body("creationOptions.betaDocExampleShape (wrapped in value - docs only)");
    let issued = parse_creation_options(&raw, 200).expect("parse");
    assert_eq!(
        issued.options.user.name.as_deref(),
        Some("kimuser@contoso.com")
    );
    assert_eq!(
        issued.expires_at,
        parse_challenge_timeout("2024-08-14T16:29:58Z")
    );
    // Excluded credential ids in standard base64 decode leniently.
    assert_eq!(issued.options.exclude_credentials[0].len(), 48);
    // The same body unwrapped converts the same.
    let v: Value = serde_json::from_slice(&raw).expect("json");
    assert_eq!(IssuedOptions::from_graph(&v["value"]), Ok(issued));
}

#[test]
fn creation_options_v1_shape_and_bad_bodies() {
    let v1 = json!({"challengeTimeoutDateTime":"2026-05-01T10:05:00Z","publicKey":{
        "@odata.type":"microsoft.graph.webauthnPublicKeyCredentialCreationOptions",
        "rp":{"@odata.type":"microsoft.graph.webauthnPublicKeyCredentialRpEntity","id":"login.microsoftonline.com","name":"Microsoft"},
        "user":{"id":"T0Y6AAAA","name":"a@b","displayName":"A"},"challenge":"Y2hhbGxlbmdl",
        "authenticatorSelection":{"authenticatorAttachment":"platform"},"excludeCredentials":[],"extensions":{}}});
    let o = IssuedOptions::from_graph(&v1).expect("v1").options;
    assert_eq!(o.rp.id, "login.microsoftonline.com");
    // Nothing asked for: WebAuthn's defaults.
    assert_eq!(o.resident_key, ResidentKey::Discouraged);
    assert_eq!(o.user_verification, UserVerification::Preferred);
    assert_eq!(o.attestation, Attestation::None);
    assert!(o.algorithms.is_empty() && o.exclude_credentials.is_empty());
    assert_eq!(o.extensions, Default::default());

    let no_challenge = json!({"publicKey":{"rp":{"id":"x"},"user":{"id":"u"}}});
    assert!(matches!(
        IssuedOptions::from_graph(&no_challenge),
        Err(OptionsError::Shape(_))
    ));
    assert_eq!(
        IssuedOptions::from_graph(&json!({"value": 3})),
        Err(OptionsError::NoPublicKey)
    );
    assert_eq!(
        IssuedOptions::from_graph(
            &json!({"publicKey":{"rp":{"id":"x"},"user":{"id":"%%"},"challenge":"c"}})
        ),
        Err(OptionsError::UserId)
    );
    let err = parse_creation_options(b"<html>oops</html>", 200).expect_err("html");
    assert!(matches!(err, Error::Decode { .. }));
    assert!(err.to_string().contains("<html>oops</html>"));
}

/// `publicKey` with the fixture's required fields and `extra` merged in.
fn public_key_with(extra: Value) -> Result<CreationOptions, OptionsError> {
    let mut pk = json!({"rp":{"id":"login.microsoft.com"},"user":{"id":"T0Y6"},"challenge":"Y2g"});
    for (k, v) in extra.as_object().expect("object") {
        pk[k] = v.clone();
    }
    IssuedOptions::from_graph(&json!({ "publicKey": pk })).map(|i| i.options)
}

#[test]
fn creation_options_enums_follow_webauthn_and_policies_are_strict() {
    // Unknown enum strings are ignored (WebAuthn L2 §2.1.1): the default applies.
    let o = public_key_with(json!({"authenticatorSelection":
        {"residentKey":"sometimes","userVerification":"maybe"},"attestation":"all"}))
    .expect("unknown strings");
    assert_eq!(o.resident_key, ResidentKey::Discouraged);
    assert_eq!(o.user_verification, UserVerification::Preferred);
    assert_eq!(o.attestation, Attestation::None);
    // requireResidentKey counts only when residentKey is absent or unknown.
    for (sel, want) in [
        (json!({"requireResidentKey": true}), ResidentKey::Required),
        (
            json!({"requireResidentKey": true, "residentKey": "bogus"}),
            ResidentKey::Required,
        ),
        (
            json!({"requireResidentKey": true, "residentKey": "preferred"}),
            ResidentKey::Preferred,
        ),
        (
            json!({"requireResidentKey": false, "residentKey": "required"}),
            ResidentKey::Required,
        ),
    ] {
        let o = public_key_with(json!({ "authenticatorSelection": sel })).expect("selection");
        assert_eq!(o.resident_key, want, "{sel}");
    }
    // An unknown protection policy is an error, never a guessed level.
    assert_eq!(
        public_key_with(
            json!({"extensions":{"credentialProtectionPolicy":"userVerificationSometimes"}})
        ),
        Err(OptionsError::UnknownProtectionPolicy(
            "userVerificationSometimes".into()
        ))
    );
    let o = public_key_with(json!({"extensions":{
        "credentialProtectionPolicy":"userVerificationOptionalWithCredentialIDList"}}))
    .expect("level 2");
    assert_eq!(
        o.extensions.credential_protection_policy,
        Some(CredProtect::UserVerificationOptionalWithCredentialIdList)
    );
    // Algorithms of another type are dropped; none left of a non-empty list is an error.
    let o = public_key_with(
        json!({"pubKeyCredParams":[{"type":"public-key","alg":-8},{"type":"other","alg":-7}]}),
    )
    .expect("algorithms");
    assert_eq!(o.algorithms, [-8]);
    assert_eq!(
        public_key_with(json!({"pubKeyCredParams":[{"type":"other","alg":-7}]})),
        Err(OptionsError::NoPublicKeyAlgorithm)
    );
}

#[test]
fn creation_options_user_and_exclude_ids_in_odd_encodings() {
    // user.id padded, in the standard alphabet: the same bytes.
    let o = public_key_with(json!({"user":{"id":"T0Y6/w=="}})).expect("padded");
    assert_eq!(o.user.id, [0x4f, 0x46, 0x3a, 0xff]);
    // Every reading of every id, undecodable and foreign-type entries skipped, no repeats.
    let o = public_key_with(json!({"excludeCredentials":[
        {"type":"public-key","id":"YqsVwHo6UD7lzEV8xRNrfzzzCYOXPQGsQtfv_lGgxaE1"},
        {"type":"public-key","id":"%%%"},
        {"type":"other","id":"AAAA"},
        {"id":"GshyINLMaOOwqt1LNUi0gQ=="},
        {"type":"public-key","id":"GshyINLMaOOwqt1LNUi0gQ"}]}))
    .expect("exclude");
    assert_eq!(
        o.exclude_credentials
            .iter()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        [32, 33, 16]
    );
}

#[test]
fn exclude_ids_decode_leniently() {
    // Standard base64, no padding needed (48 bytes).
    let std =
        decode_credential_id("YidohH/WzJ/UCZzieig9K3cTjWVKjVc3fV6AK4Sy5nYlVXnduA2c3LQI/Um1kzQT");
    assert_eq!(std.iter().map(Vec::len).collect::<Vec<_>>(), [48]);
    // Padded standard base64 (2024 fixture form): padding means no digit rule.
    let padded = decode_credential_id("TZ2KrDEawbrIGQsnheGZ/BG9Nfnb7blSGwQYMGyJIhM=");
    assert_eq!(padded.iter().map(Vec::len).collect::<Vec<_>>(), [32]);
    let padded2 = decode_credential_id("GshyINLMaOOwqt1LNUi0gQ==");
    assert_eq!(padded2.iter().map(Vec::len).collect::<Vec<_>>(), [16]);
    // base64url + pad digit "1": 32 bytes, but also plausible as plain base64url (33 bytes).
    let digit = decode_credential_id("YqsVwHo6UD7lzEV8xRNrfzzzCYOXPQGsQtfv_lGgxaE1");
    assert_eq!(digit.iter().map(Vec::len).collect::<Vec<_>>(), [32, 33]);
    assert_eq!(digit[0][..4], [0x62, 0xab, 0x15, 0xc0]);
    // Digit "0" on a length that is a multiple of 4: only the digit reading decodes.
    let zero = decode_credential_id(&format!("{}0", "AAAA".repeat(4)));
    assert_eq!(zero, vec![vec![0u8; 12]]);
    // A digit whose count does not fit the length is plain data.
    let plain = decode_credential_id("L-pqCQL3U2NlFYi8FhxDy2");
    assert_eq!(plain.iter().map(Vec::len).collect::<Vec<_>>(), [16]);
    // Undecodable.
    assert!(decode_credential_id("not base64 at all!").is_empty());
    assert!(decode_credential_id("").is_empty());
}

#[test]
fn register_body_matches_fixture_exactly() {
    let f = fixture();
    let post = &f["postRequestBody"];
    let dec = |p: &str| {
        decode_base64_lenient(post.pointer(p).and_then(Value::as_str).expect("field")).expect("b64")
    };
    let cred_hex = f["decoded"]["credentialIdHex"].as_str().expect("hex");
    let cred: Vec<u8> = (0..cred_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cred_hex[i..i + 2], 16).expect("hex"))
        .collect();
    let req = RegisterRequest {
        display_name: "YubiKey 5 NFC 12345678".into(),
        credential_id: cred.clone(),
        client_data_json: dec("/publicKeyCredential/response/clientDataJSON"),
        attestation_object: dec("/publicKeyCredential/response/attestationObject"),
        client_extension_results: json!({}),
    };
    assert_eq!(&req.to_body(), post);
    let cdj: Value = serde_json::from_slice(&req.client_data_json).expect("cdj");
    assert_eq!(cdj, f["decoded"]["clientDataJSON"]);
    // 201 answer: id = base64url(credId) + pad digit, recognised.
    let m: Fido2Method =
        serde_json::from_value(f["post201ResponseBody"].clone()).expect("201 body");
    assert!(method_id_matches_credential(&m.id, &cred));
    assert_eq!(m.attestation_level.as_deref(), Some("notAttested"));
    assert!(m.attestation_certificates.is_empty());
    // Null extension results become {}; nothing but the documented fields is sent.
    let mut r2 = req.clone();
    r2.client_extension_results = Value::Null;
    let b = r2.to_body();
    assert_eq!(
        b["publicKeyCredential"]["clientExtensionResults"],
        json!({})
    );
    assert_eq!(b.as_object().map(|o| o.len()), Some(2));
    assert_eq!(
        b["publicKeyCredential"].as_object().map(|o| o.len()),
        Some(3)
    );
    assert!(!b.to_string().contains('='));
}

#[test]
fn display_name_truncated_on_char_boundary() {
    assert_eq!(truncate_display_name("  short  "), "short");
    let long = "Schlüssel für Jürgen Müller-Lüdenscheidt 123";
    let t = truncate_display_name(long);
    assert_eq!(t.chars().count(), 30);
    assert!(long.starts_with(&t));
    let emoji = "🔑".repeat(40);
    assert_eq!(truncate_display_name(&emoji), "🔑".repeat(30));
    assert_eq!(truncate_display_name("   "), DEFAULT_DISPLAY_NAME);
}

#[test]
fn challenge_expiry_formats() {
    let mk = |t: &str| {
        IssuedOptions::from_graph(&json!({"challengeTimeoutDateTime": t, "publicKey":
            {"rp":{"id":"r"},"user":{"id":"dQ"},"challenge":"c"}}))
        .expect("options")
        .expires_at
        .map(|s| {
            s.duration_since(SystemTime::UNIX_EPOCH)
                .expect("epoch")
                .as_secs()
        })
    };
    assert_eq!(mk("2024-06-13T11:26:35Z"), Some(1_718_277_995));
    assert_eq!(mk("2024-06-13T11:26:35.1234567Z"), Some(1_718_277_995));
    assert_eq!(mk("2024-06-13T11:26:35"), Some(1_718_277_995));
    assert_eq!(mk("2024-06-13T13:26:35+02:00"), Some(1_718_277_995));
    assert_eq!(mk("tomorrow"), None);
}

#[test]
fn public_types_are_thread_safe() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Error>();
    check::<graph::GraphClient>();
    check::<graph::Credentials>();
    check::<IssuedOptions>();
}

#[test]
fn graph_error_envelopes() {
    let errs = example("errors");
    for (key, status, code, rid) in [
        (
            "fido2.post.missingEntity (observed, msgraph-beta-sdk-dotnet#941)",
            400,
            "badRequest",
            "e279fa99-6eba-488e-8d8e-04d6ac5c7efc",
        ),
        (
            "creationOptions.selfService (observed, webauthn-interop#13/#33)",
            405,
            "methodNotAllowed",
            "b8090437-0868-45d4-a511-0977e3237ee0",
        ),
        (
            "directory.userNotFound",
            404,
            "Request_ResourceNotFound",
            "00000000-0000-0000-0000-000000000001",
        ),
        (
            "graph.badToken",
            401,
            "InvalidAuthenticationToken",
            "00000000-0000-0000-0000-000000000005",
        ),
        (
            "graph.throttled (docs sample)",
            429,
            "TooManyRequests",
            "94fb3b52-452a-4535-a601-69e0a90e3aa2",
        ),
    ] {
        let e = &errs[key];
        assert_eq!(e["status"], status);
        let env: ErrorEnvelope = serde_json::from_value(e["body"].clone()).expect(key);
        assert_eq!(env.error.code, code);
        let inner = env.error.inner_error.expect("innerError");
        assert_eq!(inner.find_request_id(), Some(rid));
        // The date has no time zone: kept as text, not rejected.
        assert!(inner.date.is_some_and(|d| !d.ends_with('Z')));
    }
    // Lower-case alias and nesting.
    let env: ErrorEnvelope = serde_json::from_value(json!({"error":{"code":"x","message":"m",
        "innererror":{"innerError":{"request-id":"deep"}}}}))
    .expect("alias");
    assert_eq!(
        env.error
            .inner_error
            .and_then(|i| i.find_request_id().map(str::to_owned)),
        Some("deep".into())
    );
    // 504 HTML is not an envelope.
    let html = errs["graph.gatewayTimeout"]["body"].as_str().expect("html");
    assert!(serde_json::from_str::<ErrorEnvelope>(html).is_err());
    assert_eq!(snippet(html.as_bytes()), html);
}

#[test]
fn retry_after_integer_decimal_http_date() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(
        parse_retry_after("150", now),
        Some(Duration::from_secs(150))
    );
    assert_eq!(
        parse_retry_after(" 2.128 ", now),
        Some(Duration::from_millis(2128))
    );
    assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
    let date = httpdate::fmt_http_date(now + Duration::from_secs(42));
    assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(42)));
    let past = httpdate::fmt_http_date(now - Duration::from_secs(42));
    assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    for bad in ["", "-1", "soon", "1e3", "NaN", "2.1.2"] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
    }
}

#[test]
fn backoff_is_exponential_capped_and_jittered() {
    let p = RetryPolicy {
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
        ..RetryPolicy::default()
    };
    assert_eq!(p.backoff(1, 0.0), Duration::from_millis(500));
    assert_eq!(p.backoff(1, 1.0), Duration::from_secs(1));
    assert_eq!(p.backoff(3, 1.0), Duration::from_secs(4));
    assert_eq!(p.backoff(30, 1.0), Duration::from_secs(10));
    assert_eq!(p.backoff(30, 0.0), Duration::from_secs(5));
    assert!(p.backoff(2, 0.5) > p.backoff(2, 0.0));
    assert_eq!(p.backoff(2, f64::NAN), Duration::from_secs(1));
}

#[test]
fn retry_decisions() {
    use Idempotency::*;
    let p = RetryPolicy {
        max_attempts: 3,
        max_throttled_attempts: 6,
        max_retry_after: Duration::from_secs(100),
        ..RetryPolicy::default()
    };
    let st = |status, ra: Option<u64>| Outcome::Status {
        status,
        retry_after: ra.map(Duration::from_secs),
    };
    // Retry-After honoured exactly, for any method on 429.
    assert_eq!(
        p.decide(1, st(429, Some(7)), NonIdempotent, 0.3),
        Decision::Retry(Duration::from_secs(7))
    );
    assert_eq!(
        p.decide(1, st(503, Some(2)), Idempotent, 0.3),
        Decision::Retry(Duration::from_secs(2))
    );
    assert!(matches!(
        p.decide(1, st(504, None), Idempotent, 0.3),
        Decision::Retry(_)
    ));
    // POST: 5xx, timeouts and resets are ambiguous: never retried here.
    assert_eq!(
        p.decide(1, st(503, Some(1)), NonIdempotent, 0.3),
        Decision::Stop
    );
    assert_eq!(
        p.decide(1, Outcome::Transport { connect: false }, NonIdempotent, 0.3),
        Decision::Stop
    );
    // ...but a failed connect never sent anything.
    assert!(matches!(
        p.decide(1, Outcome::Transport { connect: true }, NonIdempotent, 0.3),
        Decision::Retry(_)
    ));
    assert!(matches!(
        p.decide(1, Outcome::Transport { connect: false }, Idempotent, 0.3),
        Decision::Retry(_)
    ));
    // Final statuses, attempt cap, absurd Retry-After.
    assert_eq!(p.decide(1, st(500, None), Idempotent, 0.3), Decision::Stop);
    assert_eq!(p.decide(1, st(400, None), Idempotent, 0.3), Decision::Stop);
    // Announced throttling has its own, larger budget; unannounced 5xx do not.
    assert!(matches!(
        p.decide(3, st(429, Some(1)), Idempotent, 0.3),
        Decision::Retry(_)
    ));
    assert!(matches!(
        p.decide(5, st(503, Some(1)), Idempotent, 0.3),
        Decision::Retry(_)
    ));
    assert_eq!(
        p.decide(6, st(429, Some(1)), Idempotent, 0.3),
        Decision::Stop
    );
    assert_eq!(p.decide(3, st(504, None), Idempotent, 0.3), Decision::Stop);
    assert_eq!(
        p.decide(1, st(429, Some(101)), Idempotent, 0.3),
        Decision::Stop
    );
}

#[test]
fn token_refresh_margin() {
    let h = Duration::from_secs(3599);
    assert!(!refresh_due(h, Duration::from_secs(0)));
    assert!(!refresh_due(h, Duration::from_secs(3599 - 301)));
    assert!(refresh_due(h, Duration::from_secs(3599 - 300)));
    // Short lifetimes refresh at half-time.
    let short = Duration::from_secs(60);
    assert!(!refresh_due(short, Duration::from_secs(29)));
    assert!(refresh_due(short, Duration::from_secs(30)));
    assert!(refresh_due(Duration::ZERO, Duration::ZERO));
}

proptest::proptest! {
    /// Credential ids as Graph might send them: never a panic, never an empty candidate.
    #[test]
    fn credential_id_decoding_never_panics(id in "[A-Za-z0-9+/_=-]{0,90}", junk in ".{0,8}") {
        for s in [id.clone(), format!("{id}{junk}")] {
            for c in decode_credential_id(&s) {
                proptest::prop_assert!(!c.is_empty());
            }
        }
    }
}
