"""GraphQL documents the API tests send, written once."""

CREATE_PI = """
mutation($input: CreatePlatformIntegrationInput!) {
  createPlatformIntegration(input: $input) {
    platformIntegration { id name isDefault isTrial connectionStatus
      credentials { clientId restEndpoint identityEndpoint clientSecretHint } }
    trialConfirmation { title body confirmLabel cancelLabel limit used }
    userErrors { code field message }
  }
}"""

UPDATE_PI = """
mutation($input: UpdatePlatformIntegrationInput!) {
  updatePlatformIntegration(input: $input) {
    platformIntegration { id name connectionStatus credentials { clientId restEndpoint identityEndpoint clientSecretHint } }
    userErrors { code field message }
  }
}"""

SET_DEFAULT = """
mutation($id: ID!) { setDefaultPlatformIntegration(id: $id) {
  platformIntegration { id isDefault } userErrors { code field message } } }"""

DELETE_PI = """
mutation($id: ID!) { deletePlatformIntegration(id: $id) { deletedId userErrors { code field message } } }"""

SYNC_PI = """
mutation($id: ID!) { syncPlatformIntegration(id: $id) {
  syncRun { id state trigger attempts platformIntegration { id } } userErrors { code field message } } }"""

TEST_PI = """
mutation($id: ID!) { testPlatformIntegrationConnection(id: $id) {
  platformIntegration { id connectionStatus } userErrors { code field message } } }"""

CREATE_LAUNCHER = """
mutation($input: CreateLauncherInput!) {
  createLauncher(input: $input) {
    launcher { id name platformIntegration { id } destinationFolder { id } templateProgram { id } assetsFolder { id } }
    userErrors { code field message }
  }
}"""

UPDATE_LAUNCHER = """
mutation($input: UpdateLauncherInput!) {
  updateLauncher(input: $input) {
    launcher { id name platformIntegration { id } destinationFolder { id } }
    userErrors { code field message }
  }
}"""

DELETE_LAUNCHER = """
mutation($id: ID!) { deleteLauncher(id: $id) { deletedId userErrors { code field message } } }"""

SET_COLLABORATORS = """
mutation($launcherId: ID!, $userIds: [ID!]!) { setLauncherCollaborators(launcherId: $launcherId, userIds: $userIds) {
  launcher { id collaborators { id email } } userErrors { code field message } } }"""

CREATE_CAMPAIGN = """
mutation($input: CreateCampaignInput!) { createCampaign(input: $input) {
  campaign { id name status launcher { id } submittedBy { email } } userErrors { code field message } } }"""

UPDATE_CAMPAIGN = """
mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) {
  campaign { id name } userErrors { code field message } } }"""

ACCOUNT = """
{ account { id name syncState plan { name limits { platformIntegrations users } }
  launcherCreation { allowed reason message }
  defaultPlatformIntegration { id }
  platformIntegrations { id name isDefault isTrial syncStatus { state } } } }"""


def pi_input(name: str = "Main", munchkin: str = "123-ABC-456", **extra):
    credentials = {
        "clientId": f"client-{munchkin}",
        "clientSecret": f"s3cr3t-value-{munchkin}-XYZW",
        "restEndpoint": f"https://{munchkin}.mktorest.com/rest",
    }
    credentials.update(extra.pop("credentials", {}))
    return {"name": name, "credentials": credentials, **extra}


CREATE_API_KEY = """
mutation($name: String!, $scope: ApiKeyScope!, $expiresAt: DateTime) {
  createApiKey(name: $name, scope: $scope, expiresAt: $expiresAt) {
    key apiKey { id name scope hint createdAt createdBy { email } lastUsedAt expiresAt revokedAt }
    userErrors { code field message }
  }
}"""

REVOKE_API_KEY = """
mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id revokedAt } userErrors { code field message } } }"""

API_KEYS = """
query($includeRevoked: Boolean! = false) { account { apiKeys(includeRevoked: $includeRevoked) {
  id name scope hint createdAt createdBy { email } lastUsedAt expiresAt revokedAt } } }"""

RATE_LIMIT = "{ rateLimit { limit cost remaining resetAt } }"
