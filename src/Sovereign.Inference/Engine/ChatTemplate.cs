using System.Text;
using LLama;
using LLama.Exceptions;
using LLama.Native;
using Sovereign.Core.Errors;
using Sovereign.Core.Generation;

namespace Sovereign.Inference.Engine;

/// <summary>
/// The chat template of one loaded model, applied by llama.cpp itself (<c>llama_chat_apply_template</c> through
/// LLamaSharp's <see cref="LLamaTemplate"/>): either a built-in template chosen by name, or the template in the model's
/// metadata when llama.cpp recognises it. No general-purpose template engine is involved. Thread-safe: each render uses
/// its own <see cref="LLamaTemplate"/>.
/// </summary>
internal sealed class ChatTemplate
{
    private readonly string _source;

    private ChatTemplate(string source, string description)
    {
        _source = source;
        Description = description;
    }

    /// <summary>What the template is, for logs: "built-in 'chatml'" or "the model's own template".</summary>
    public string Description { get; }

    /// <summary>
    /// The override when one is given (an unknown name is an error), else the model's own template when llama.cpp can
    /// apply it, else null (with <paramref name="missingReason"/> saying why).
    /// </summary>
    public static ChatTemplate? Resolve(SafeLlamaModelHandle model, string? overrideName, out string missingReason)
    {
        missingReason = "";
        if (overrideName is not null)
        {
            var named = new ChatTemplate(overrideName.Trim(), $"built-in '{overrideName.Trim()}'");
            if (!named.CanRender())
            {
                throw new SovereignException(ErrorKind.InvalidRequest,
                    $"Chat template '{overrideName}' is not one of llama.cpp's built-in templates (for example chatml, llama3, llama2, mistral-v7, gemma, phi3, zephyr).",
                    "chat_template", "unknown_chat_template");
            }
            return named;
        }

        var own = model.GetTemplate(name: null, strict: false);
        if (string.IsNullOrWhiteSpace(own))
        {
            missingReason = "The model has no chat template; set one with --chat-template (a llama.cpp built-in name such as chatml, llama3 or mistral-v7).";
            return null;
        }
        var template = new ChatTemplate(own, "the model's own template");
        if (!template.CanRender())
        {
            missingReason = "The model's chat template is not one llama.cpp can apply; set one with --chat-template (a llama.cpp built-in name such as chatml, llama3 or mistral-v7).";
            return null;
        }
        return template;
    }

    /// <summary>Renders the messages and ends with the start of an assistant turn.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages)
    {
        var template = new LLamaTemplate(_source) { AddAssistant = true };
        foreach (var m in messages)
            template.Add(m.Role, m.Content);
        try
        {
            return Encoding.UTF8.GetString(template.Apply());
        }
        catch (MissingTemplateException e)
        {
            throw new SovereignException(ErrorKind.InvalidRequest, $"llama.cpp could not apply the chat template ({Description}).", "messages", "chat_template_failed", e);
        }
    }

    private bool CanRender()
    {
        try
        {
            _ = Render([new ChatMessage("user", "hello")]);
            return true;
        }
        catch (SovereignException)
        {
            return false;
        }
    }
}
