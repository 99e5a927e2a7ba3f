package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/trawl-project/trawl/internal/sink/opensearch"
)

func newOpenSearchCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "opensearch",
		Short: "Tools for the OpenSearch / Elasticsearch sink",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(newOpenSearchTemplateCmd(e))
	return cmd
}

func newOpenSearchTemplateCmd(e *env) *cobra.Command {
	var flavor, prefix string
	cmd := &cobra.Command{
		Use:   "template [NAME]",
		Short: "Print the index templates the OpenSearch sink puts",
		Long: `Template prints the composable index templates of the OpenSearch /
Elasticsearch sink (docs/opensearch.md): explicit mappings for the
cloudtrail, vpcflowlogs and guardduty daily indices, built from trawl's
schema. The sink puts them itself when it starts (unless skip_templates);
print them to review them or to put them by hand.

Without NAME: every template as a console request ("PUT _index_template/NAME"
followed by the body), as OpenSearch Dashboards' Dev Tools and Kibana's
console take them. With NAME (cloudtrail, vpcflowlogs or guardduty, with the
prefix): only that template's JSON body, e.g. for curl -d @-.`,
		Example: `  trawl opensearch template
  trawl opensearch template --flavor elasticsearch --prefix prod- prod-cloudtrail
  trawl opensearch template guardduty | curl -XPUT -H 'Content-Type: application/json' \
      https://localhost:9200/_index_template/guardduty -d @-`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			flavors := []string{opensearch.FlavorOpenSearch, opensearch.FlavorElasticsearch, opensearch.FlavorPlain}
			if !slices.Contains(flavors, flavor) {
				return usageError("--flavor %q: want one of %s", flavor, strings.Join(flavors, ", "))
			}
			ts := opensearch.PrefixedTemplates(flavor, prefix)
			if len(args) == 1 {
				var names []string
				for _, t := range ts {
					if t.Name == args[0] {
						_, err := e.stdout.Write(t.Body)
						return err
					}
					names = append(names, t.Name)
				}
				return usageError("no template %q: the templates are %s", args[0], strings.Join(names, ", "))
			}
			for i, t := range ts {
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				if _, err := fmt.Fprintf(e.stdout, "PUT _index_template/%s\n%s", t.Name, t.Body); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&flavor, "flavor", opensearch.FlavorOpenSearch, "cluster flavor: opensearch (flat_object), elasticsearch (flattened) or plain (objects not indexed)")
	cmd.Flags().StringVar(&prefix, "prefix", "", "index prefix (the sink's index_prefix)")
	return cmd
}
