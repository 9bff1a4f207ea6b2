namespace Sovereign.Web.Resources;

/// <summary>Marker type for <c>IStringLocalizer&lt;Strings&gt;</c>: every interface string is in Strings.resx (English) and Strings.{culture}.resx.</summary>
public sealed class Strings;
