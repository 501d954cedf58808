package metrics

import "github.com/prometheus/client_golang/prometheus"

// BudgetSample is what is left of one API key's decrypt budget in its
// current window.
type BudgetSample struct {
	Project, Key string
	Remaining    float64
}

// budgetCollector exports sdproxy_decrypt_budget_remaining from a list
// read at each scrape: a key revoked, expired or deleted is no longer
// listed, so its series goes away with it.
type budgetCollector struct {
	desc *prometheus.Desc
	list func() []BudgetSample
}

func (c budgetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c budgetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.list() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, s.Remaining, s.Project, s.Key)
	}
}

// WatchDecryptBudgets exports sdproxy_decrypt_budget_remaining{project,
// key}, read from list at each scrape: the values each active key with a
// decrypt budget may still decrypt in its current window, as this
// instance sees it. Call it once.
func (m *Metrics) WatchDecryptBudgets(list func() []BudgetSample) {
	m.reg.MustRegister(budgetCollector{
		desc: prometheus.NewDesc("sdproxy_decrypt_budget_remaining",
			"Values an API key may still decrypt in its decrypt budget's current window, as this instance sees it (the store's count as last read, plus its own reserved chunk).",
			[]string{"project", "key"}, nil),
		list: list,
	})
}
