"""The emulator's own endpoints beside the AWS APIs (``/_playground/...``).

A module of constants only, so a client of the emulator (the local runner, the gateway, the
CLI) names them without importing the emulator and moto with it.
"""

HEALTH_PATH = "/_playground/health"
VIOLATIONS_PATH = "/_playground/violations"
DENIALS_PATH = "/_playground/denials"
# What IAM would decide for the signer on a resource the emulator cannot hold (POST, JSON body
# {"actions": [...], "resource": ARN}); see `localaws.permission.PermissionLayer.authorize`.
AUTHORIZE_PATH = "/_playground/authorize"
