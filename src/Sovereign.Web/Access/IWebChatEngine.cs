using Sovereign.Core.Generation;

namespace Sovereign.Web.Access;

/// <summary>
/// The engine as one signed-in user may use it from the web interface: the host applies the same quotas, fair
/// scheduling and usage records as for its APIs, and the user's tenant. Thread-safe.
/// </summary>
public interface IWebChatEngine
{
    IInferenceService For(WebUser user);
}
