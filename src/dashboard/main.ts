/** Entry of dashboard.html: defines <tabgrid-dashboard>, which starts its host once connected. */
import './dashboard-app';
