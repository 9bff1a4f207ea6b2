using Sovereign.Core.Generation;

namespace Sovereign.Web.Access;

/// <summary>
/// The engine as one signed-in user may use it from the web interface: the host applies the same quotas, fair
/// scheduling and usage records as for its APIs, and the user's tenant. Thread-safe.
/// </summary>
public interface IWebChatEngine
{
    /// <param name="appId">The app whose page the chat is on, so usage is counted under it; null for the plain chat.</param>
    IInferenceService For(WebUser user, string? appId = null);
}
