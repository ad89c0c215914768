using System.Reflection;
using Microsoft.Extensions.Options;

namespace DaprLlm.Gateway.Configuration;

/// <summary>
/// Binds an options section so that a configured list replaces the option's default list instead of being appended
/// to it: the configuration binder appends array items to an initialised array and merges dictionary keys, so
/// <c>Chat:Models:0=my-model</c> would otherwise leave <c>daprllm-demo</c> in the list. Defaults apply only when the
/// list's section is absent. Dictionaries of objects (quota tiers, API versions) keep the binder's per-field merge,
/// which is what overriding one tier's limit needs.
/// </summary>
public static class SectionBinding
{
    public static OptionsBuilder<T> BindSection<T>(this OptionsBuilder<T> builder, string section)
        where T : class
    {
        builder.BindConfiguration(section);
        builder.Configure<IConfiguration>((options, configuration) => ReplaceLists(options, configuration.GetSection(section)));
        return builder;
    }

    /// <summary>Replaces every string list/map of <paramref name="target"/> (nested objects included) that the section configures.</summary>
    public static void ReplaceLists(object target, IConfigurationSection section)
    {
        foreach (var property in target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanRead || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var child = section.GetSection(property.Name);
            if (!child.Exists())
            {
                continue;
            }

            var type = property.PropertyType;
            if (IsList(type) && property.CanWrite)
            {
                property.SetValue(target, child.Get(type));
            }
            else if (type.IsClass && type != typeof(string) && !typeof(System.Collections.IEnumerable).IsAssignableFrom(type) && property.GetValue(target) is { } nested)
            {
                ReplaceLists(nested, child);
            }
        }
    }

    private static bool IsList(Type type) =>
        type.IsArray
        || type == typeof(List<string>)
        || type == typeof(Dictionary<string, string>);
}
